#!/usr/bin/env bash
# The Debian packages `make test` needs, in ONE apt-get run: those scripts/system-tools.sh
# (bubblewrap), scripts/chromium.sh (Chromium) and scripts/container-engine.sh (podman,
# mmdebstrap…) would each install, asked with their `--missing`. Each of them still installs
# its own when run alone, and finds nothing to do after this. Only as root; otherwise it does
# nothing, and each script says what it needs, as before. Never run beside another apt-get:
# dpkg's lock admits one at a time.
# Usage:  bash scripts/system-packages.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || exit 0
missing="$(for script in system-tools chromium container-engine; do bash "$here/$script.sh" --missing; done | xargs)"
[ -z "$missing" ] && exit 0
echo "system-packages: installing $missing from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# without what they only recommend (cups, avahi, GTK and Perl helpers, rootless podman's
# helpers): about 90 packages fewer on a new machine; what the tests use is named
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
