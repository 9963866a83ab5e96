#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies.
# Idempotent: does nothing when the lock file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.installed
lock_hash=$(cat requirements.txt requirements.lock | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  exit 0
fi

python=$(bash scripts/find_python.sh)
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv with $python"
  "$python" -m venv "$venv"
fi
# pip warns about optional local package mirrors that this machine may not have: keep the noise out.
quiet_pip() { "$venv/bin/python" -m pip "$@" 2> >(grep -v "neither a file nor a directory" >&2); }
quiet_pip install --quiet --upgrade "pip==24.3.1"
echo "Installing pinned dependencies (first time: about 2-5 minutes)"
quiet_pip install --quiet -r requirements.txt -c requirements.lock
echo "$lock_hash" > "$stamp"
