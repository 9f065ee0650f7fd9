#!/usr/bin/env bash
# Benchmark `fupin assess` against DuckDB, pandas and the csv-crate floor on the same
# generated registers. See bench/README.md.
#
#   bench/run.sh [--runs N] [--formats utf8,gbk,xlsx] [--duckdb-max N] [--pandas-max N] [SIZE ...]
#
# SIZE is a number of households (default: 10000 100000 1000000; 10000000 on request).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fupin -p fupin-bench-floor
bench/venv.sh
exec bench/.venv/bin/python bench/driver.py "$@"
