#!/usr/bin/env bash
# Installs what the browser tests (tests/browser) need, idempotently:
#   - Debian's Chromium (/usr/bin/chromium), the browser the tests launch;
#   - an emoji font (fonts-noto-color-emoji), so the bot's emoji show in screenshots (optional).
# The Python driver, playwright, is pinned in requirements.txt (installed by `make setup`).
# `playwright install` is never run: it downloads browser builds, which this project does not use.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium
REQUIRED=(chromium)
OPTIONAL=(fonts-noto-color-emoji)

say() { printf 'install_browser: %s\n' "$*"; }
fail() { printf 'install_browser: %s\n' "$*" >&2; exit 1; }

installed() {
  command -v dpkg-query >/dev/null 2>&1 &&
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${REQUIRED[@]}" "${OPTIONAL[@]}"; do
  installed "$package" || missing+=("$package")
done

if ((${#missing[@]})); then
  chromium_missing=false
  [[ " ${missing[*]} " == *" chromium "* && ! -x "$CHROMIUM" ]] && chromium_missing=true
  if ! command -v apt-get >/dev/null 2>&1; then
    $chromium_missing && fail "apt-get is not available: install Chromium so that $CHROMIUM exists" \
      "(Debian/Ubuntu: apt-get install chromium), then run this again."
    say "apt-get is not available; skipping ${missing[*]} ($CHROMIUM is there)."
  elif [[ "$(id -u)" != 0 ]]; then
    $chromium_missing && fail "not root: run 'sudo apt-get update && sudo apt-get install -y ${missing[*]}'" \
      "(or run this script as root), then run it again."
    say "not root; skipping optional ${missing[*]} (sudo apt-get install -y ${missing[*]})."
  else
    say "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
  fi
fi

[[ -x "$CHROMIUM" ]] || fail "$CHROMIUM is missing after the installation."
# Debian's launcher script may print a harmless shell warning on stderr; only the version matters.
version="$("$CHROMIUM" --version 2>/dev/null)" || fail "'$CHROMIUM --version' failed."
say "$version"

# The driver comes from requirements.txt; check it when the project's virtualenv exists.
if [[ -x .venv/bin/python ]]; then
  .venv/bin/python -c 'import playwright.sync_api' 2>/dev/null ||
    fail "the Python package playwright is missing from .venv: run 'make setup' (requirements.txt pins it)."
  say "playwright $(.venv/bin/python -c 'from importlib.metadata import version; print(version("playwright"))')"
fi
