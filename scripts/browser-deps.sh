#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/browser.py): installs Debian's `chromium` and
# `chromium-driver` with apt-get, only when /usr/bin/chromium or /usr/bin/chromedriver is missing.
#
#   scripts/browser-deps.sh             install or exit 1 with the reason (`make browser-deps`)
#   scripts/browser-deps.sh --optional  install or warn and exit 0 (`make test`: the browser
#                                       tests then fail, naming `make browser-deps`)
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

optional=0
case "${1:-}" in
  "") ;;
  --optional) optional=1 ;;
  *) echo "usage: $0 [--optional]" >&2; exit 2 ;;
esac

if [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]]; then
  echo "browser-deps: $CHROMIUM and $CHROMEDRIVER are installed"
  exit 0
fi

fail() {
  echo "browser-deps: cannot install ${PACKAGES[*]}: $1" >&2
  echo "browser-deps: fix: on Debian/Ubuntu run 'make browser-deps' as root (or with sudo)," \
    "or install ${PACKAGES[*]} so that $CHROMIUM and $CHROMEDRIVER exist." >&2
  if ((optional)); then
    echo "browser-deps: going on; the browser tests will FAIL until then." >&2
    exit 0
  fi
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian-based system)"

sudo=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    fail "not root, and sudo is unavailable or needs a password"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg run instead of failing on its lock.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q)

echo "browser-deps: installing ${PACKAGES[*]} (apt-get update first)"
"${apt[@]}" update || fail "'apt-get update' failed"
"${apt[@]}" install --no-install-recommends "${PACKAGES[@]}" fonts-liberation \
  || fail "'apt-get install ${PACKAGES[*]}' failed"

[[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]] \
  || fail "installed, but $CHROMIUM or $CHROMEDRIVER is still missing"
echo "browser-deps: $("$CHROMIUM" --version 2>/dev/null || echo chromium), $("$CHROMEDRIVER" --version 2>/dev/null | head -n 1)"
