#!/usr/bin/env bash
# The server under load: `fupin serve` on a county of the demo's size (20,000 households)
# and on 10^6 households, on SQLite and on PostgreSQL (scripts/pg); `fupin-load`
# (bench/load/, its own small Rust project) logs in, finds real townships, villages,
# households, names and ID numbers through the API, and drives the dashboard, township
# and village pages, household pages, search by name / ID number / household number and
# the API with N keep-alive connections for a fixed time. One table per scenario:
# requests, requests/s, p50/p95/p99/max per endpoint; with the machine's load (uptime)
# before the run, since other work shares its cores.
#
#   bench/load.sh                          # all four scenarios, 32 connections, 20 s each
#   bench/load.sh --seconds 30 1m-postgres # one scenario, longer
#   bench/load.sh --fresh 20k-sqlite       # generate and import again
#   bench/load.sh --prepare                # only generate and import (before a quiet moment)
#   FUPIN_BIN=path/to/fupin bench/load.sh  # use a binary built beforehand
#   bench/load.sh --skip dashboard 1m-sqlite  # leave endpoints out (comma-separated)
#
# Scenarios: 20k-sqlite 20k-postgres 1m-sqlite 1m-postgres. Registers are made with
# `fupin gen --households N --seed 1 --error-rate 0` (an import refuses a file with any
# error, and `fupin gen` injects 1% by default) and stored with `fupin import`, into
# bench/load/data/ (git-ignored, kept between runs). Results: bench/load/out/*.md, *.json.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=20
connections=32
fresh=0
prepare=0
skip=""
scenarios=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --prepare) prepare=1; shift ;;
    --skip) skip=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(20k-sqlite 20k-postgres 1m-sqlite 1m-postgres)

say() { printf 'bench/load.sh: %s\n' "$*" >&2; }

target=${CARGO_TARGET_DIR:-$root/target}
if [[ -n ${FUPIN_BIN:-} ]]; then
  fupin=$FUPIN_BIN   # a binary built beforehand, so that no build shares the cores with a run
else
  fupin=$target/release/fupin
  say "building fupin (release)"
  (cd "$root" && cargo build --release -p fupin --quiet)
fi
say "building fupin-load (release)"
(cd "$root/bench/load" && cargo build --release --quiet)
load=$root/bench/load/target/release/fupin-load

data=$root/bench/load/data
out=$root/bench/load/out
mkdir -p "$data" "$out"
password='load-测试-2018'

households() { case $1 in 20k) echo 20000 ;; 1m) echo 1000000 ;; *) say "unknown size $1"; exit 2 ;; esac; }

# The register files of a size, generated once.
register() {
  local size=$1 dir=$data/$1
  if [[ $fresh == 1 || ! -f $dir/members.csv ]]; then
    say "generating $(households "$size") households into $dir"
    rm -rf "$dir"
    "$fupin" gen --households "$(households "$size")" --seed 1 --error-rate 0 --out "$dir" >&2
  fi
}

# The database URL of a scenario, made (migrated, an admin, the register imported) once.
database() {
  local size=$1 backend=$2 dir=$data/$1 url done
  done=$dir/.$backend.done
  case $backend in
    sqlite) url="sqlite://$dir/fupin.db" ;;
    postgres)
      local admin name=fupin_load_$size
      admin=$(bash "$root/scripts/pg")
      url="${admin%/*}/$name"
      if [[ $fresh == 1 || ! -f $done ]] || ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        rm -f "$done"
        psql "$admin" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >&2
        psql "$admin" -qc "CREATE DATABASE $name" >&2
      fi ;;
    *) say "unknown backend $backend"; exit 2 ;;
  esac
  if [[ $fresh == 1 || ! -f $done ]]; then
    [[ $backend == sqlite ]] && rm -f "$dir"/fupin.db*
    "$fupin" migrate --db "$url" >&2
    printf '%s\n' "$password" | "$fupin" user add admin --role hq_admin --db "$url" >&2
    say "importing $(households "$size") households into $backend"
    local t0=$SECONDS
    "$fupin" import "$dir/members.csv" --villages "$dir/villages.csv" --year 2018 \
      --db "$url" --user admin >&2
    say "imported in $((SECONDS - t0)) s"
    touch "$done"
  fi
  echo "$url"
}

server_pid=""
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

for scenario in "${scenarios[@]}"; do
  size=${scenario%%-*}
  backend=${scenario#*-}
  register "$size"
  url=$(database "$size" "$backend")
  [[ $prepare == 1 ]] && continue
  name=$scenario${skip:+-without-${skip//,/-}}
  log=$out/$name.server.log
  "$fupin" serve --db "$url" --addr 127.0.0.1:0 >"$log" 2>&1 &
  server_pid=$!
  addr=""
  for _ in $(seq 1 600); do
    addr=$(grep -o 'http://[0-9.:]*' "$log" | head -1 | sed 's|http://||') || true
    [[ -n $addr ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; say "fupin serve did not start"; exit 1; }
    sleep 0.1
  done
  [[ -n $addr ]] || { say "fupin serve did not start"; exit 1; }
  load_before=$(uptime | sed 's/.*load average: //')
  say "$scenario: $connections connections for $seconds s on $addr (load before: $load_before)"
  {
    printf '### %s (%s households, %s%s)\n\n' "$scenario" "$(households "$size")" "$backend" "${skip:+; without $skip}"
    printf '%s connections, %s s; `uptime` load average before the run: %s; at %s\n\n' \
      "$connections" "$seconds" "$load_before" "$(date -u '+%Y-%m-%d %H:%M UTC')"
    "$load" "$addr" admin "$password" "$connections" "$seconds" "$out/$name.json" ${skip:+"$skip"}
    printf '\nload average after the run: %s\n\n' "$(uptime | sed 's/.*load average: //')"
  } >"$out/$name.md"
  stop_server
  cat "$out/$name.md"
done
