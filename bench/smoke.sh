#!/usr/bin/env bash
# Smoke run of the benchmark (part of scripts/test): at 10^3 households, fupin, the DuckDB
# peer and the pandas peer must give the same verdict, problem and criterion counts, on
# UTF-8, GBK and XLSX input (XLSX adds about 5 s). Uses the debug build that the tests
# already made.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p fupin -p fupin-bench-floor
bench/venv.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BENCH_PROFILE=debug bench/.venv/bin/python bench/driver.py --smoke --formats utf8,gbk,xlsx \
  --data "$tmp/data" --out "$tmp/out" 1000
echo "bench: 3 passed, 0 failed"
