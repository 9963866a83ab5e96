#!/usr/bin/env bash
# Installs nginx from Debian's packages, idempotently, for the local cluster (`make cluster`,
# scripts/cluster.py) and its tests (tests/cluster). Only the binary is used: the cluster runs
# nginx unprivileged in the foreground from a configuration it generates under a var/ or temp
# folder, so the package's system service is never started here.
set -euo pipefail
cd "$(dirname "$0")/.."

NGINX=/usr/sbin/nginx
PACKAGE=nginx

say() { printf 'install_nginx: %s\n' "$*"; }
fail() { printf 'install_nginx: %s\n' "$*" >&2; exit 1; }

if [[ ! -x "$NGINX" ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    fail "apt-get is not available: install nginx so that $NGINX exists, then run this again."
  elif [[ "$(id -u)" != 0 ]]; then
    fail "not root: run 'sudo apt-get update && sudo apt-get install -y $PACKAGE' (or run this script as root)."
  fi
  say "installing $PACKAGE (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package from starting (and enabling) its system-wide service on port 80: Debian's
  # maintainer scripts ask policy-rc.d first. Only a policy file this script created is removed.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$PACKAGE" >/dev/null
fi

[[ -x "$NGINX" ]] || fail "$NGINX is missing after the installation."
say "$("$NGINX" -v 2>&1)"
