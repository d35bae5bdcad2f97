#!/usr/bin/env bash
# Install the system programs laambda runs, from Debian's packages, when they are missing.
#
#   bubblewrap (bwrap)  the sandbox every build's installer runs in (laambda/building/sandbox.py)
#
# Idempotent and quick when everything is there. Needs root (or sudo) only to install.
# Usage:  bash scripts/system-tools.sh [--missing]
set -euo pipefail

say() { echo "system-tools: $*" >&2; }

missing=""
command -v bwrap >/dev/null || missing="$missing bubblewrap"
# `--missing`: print them, and stop (scripts/system-packages.sh installs them with the others)
[ "${1:-}" = --missing ] && { echo "$missing"; exit 0; }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    say "please install$missing (apt-get install$missing): builds cannot run without it"
    exit 1
fi
say "installing$missing from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
# shellcheck disable=SC2086
"${as_root[@]}" apt-get install -y -qq --no-install-recommends $missing >&2
