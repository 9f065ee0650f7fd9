#!/usr/bin/env bash
# Browser tests of the fupin server: playwright-core (npm) driving Debian's Chromium.
# Installs what it needs when missing (Chromium from Debian, playwright-core from npm),
# builds the fupin binary (unless FUPIN_BIN names one), and runs e2e/tests/*.test.js
# with node's test runner. Each run uses a fresh SQLite file and a server on a free
# port of 127.0.0.1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

if [[ ! -x /usr/bin/chromium ]]; then
  echo "e2e: installing Debian's chromium" >&2
  if [[ $EUID -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  fi
fi
command -v node >/dev/null || { echo "e2e: node is required (apt-get install nodejs npm)" >&2; exit 1; }

cd "$here"
if [[ ! -f node_modules/playwright-core/package.json ]]; then
  echo "e2e: installing playwright-core" >&2
  # playwright-core ships no browser and downloads none: it drives /usr/bin/chromium.
  npm install --no-audit --no-fund --silent >&2
fi

if [[ -z "${FUPIN_BIN:-}" ]]; then
  (cd "$root" && cargo build -q -p fupin)
  export FUPIN_BIN="$root/target/debug/fupin"
fi

exec node --test --test-concurrency=1 tests/
