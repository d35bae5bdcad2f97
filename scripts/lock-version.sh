#!/usr/bin/env bash
# Print the version uv.lock pins for one package (the versions the tests passed with).
# Usage:  bash scripts/lock-version.sh NAME [LOCK]     (LOCK: uv.lock beside this folder)
# Env:    PYTHON, a Python 3.11+ (tomllib); python3 by default
set -euo pipefail
lock="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/uv.lock}"
"${PYTHON:-python3}" -c 'import sys, tomllib
name, lock = sys.argv[1:]
print(next(p["version"] for p in tomllib.load(open(lock, "rb"))["package"] if p["name"] == name))' "$1" "$lock"
