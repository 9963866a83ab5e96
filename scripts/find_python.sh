#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 supports 3.8-3.10; we pin 3.10).
# Looks at $PYTHON, `python3.10` on PATH, then pyenv. Exits 1 with install advice when none works.
set -u

works() { [ -n "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
if command -v pyenv >/dev/null 2>&1; then
  prefix=$(pyenv prefix 3.10 2>/dev/null | head -n 1) && candidates+=("$prefix/bin/python3.10")
fi
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*; do
  [ -x "$dir/bin/python3.10" ] && candidates+=("$dir/bin/python3.10")
done
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)

for python in "${candidates[@]}"; do
  if works "$python"; then echo "$python"; exit 0; fi
done

cat >&2 <<'MSG'
Python 3.10 was not found (Rasa Open Source 3.6 runs on Python 3.8-3.10 only).
Install it with one of:
  pyenv install 3.10          # then re-run this command; pyenv need not make it global
  sudo apt-get install python3.10 python3.10-venv   # Debian/Ubuntu with 3.10 packages
or point PYTHON at an existing interpreter:  PYTHON=/path/to/python3.10 make run
MSG
exit 1
