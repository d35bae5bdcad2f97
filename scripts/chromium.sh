#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (tests/web/), driven by Playwright's
# Python package. Playwright's own browser download cannot be used (no site but the package
# registries is reachable), so the browser comes from apt. Idempotent: does nothing when
# /usr/bin/chromium is there. Where it cannot be installed (not root, no apt), the browser
# tests skip, saying why; on CI (CI set) that is an error.
set -euo pipefail

# `--missing`: print the package when missing, and stop (scripts/system-packages.sh installs it)
if [ "${1:-}" = --missing ]; then [ -x /usr/bin/chromium ] || echo chromium; exit 0; fi
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Chromium (apt-get install chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null
  }
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is not installed (apt-get install chromium): the dashboard's browser tests will skip" >&2
  [ -z "${CI:-}" ] || exit 1
fi
