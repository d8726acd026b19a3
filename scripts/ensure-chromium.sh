#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser). Install it when missing
# and possible (root + apt); in CI a missing browser is an error.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "${CI:-false}" = "true" ]; then
  echo "ERROR: $CHROMIUM is missing and could not be installed; CI runs every browser test." >&2
  exit 1
fi
echo "WARNING: $CHROMIUM is missing: browser tests will be skipped (CI=true makes this an error)." >&2
