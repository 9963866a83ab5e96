#!/usr/bin/env bash
# Creates .venv-bench (Locust, psutil, py-spy) apart from the Rasa venv: Locust's
# gevent monkey-patching and its pins must never reach the assistant's own dependencies.
# Idempotent: does nothing when bench/requirements.{txt,lock} have not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-bench
stamp=$venv/.installed
lock_hash=$(cat bench/requirements.txt bench/requirements.lock | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  exit 0
fi

python=$(bash scripts/find_python.sh)
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv with $python"
  "$python" -m venv "$venv"
fi
quiet_pip() { "$venv/bin/python" -m pip "$@" 2> >(grep -v "neither a file nor a directory" >&2); }
quiet_pip install --quiet --upgrade "pip==24.3.1"
echo "Installing the benchmark tools into $venv"
quiet_pip install --quiet -r bench/requirements.txt -c bench/requirements.lock
echo "$lock_hash" > "$stamp"
