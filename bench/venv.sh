#!/usr/bin/env bash
# Make (or reuse) bench/.venv with the peers' pinned packages from PyPI. Idempotent: the
# venv is rebuilt only when bench/peers/requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")"
req=peers/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x .venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
