#!/usr/bin/env bash
# Start a real Docker-API engine (podman) and make the Debian build image, idempotently.
#
# Prints, on stdout, shell lines to eval:
#   export DOCKER_HOST=unix:///…/podman.sock
#   export LAAMBDA_TEST_BUILD_IMAGE=localhost/laambda-build-python:<recipe hash>
#   export LAAMBDA_TEST_NODE_BUILD_IMAGE=localhost/laambda-build-node:<recipe hash>
#   export CONTAINERS_CONF=…/containers.conf
# Everything else goes to stderr. The first run takes a few minutes (apt, the Debian root
# filesystem every image made here comes from, scripts/images/debian.sh); a second run answers
# within a second or two.
# Usage:  eval "$(bash scripts/container-engine.sh)"
# Env:    LAAMBDA_ENGINE_DIR (default <repo>/.cache/container-engine) holds the socket, the
#         engine's log, containers.conf and the cached root filesystem's tar.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${LAAMBDA_ENGINE_DIR:-$root/.cache/container-engine}"
say() { echo "container-engine: $*" >&2; }

# 1. the tools, from Debian's packages, without what they only recommend but aardvark-dns (the
# compose layout's containers find each other by name through it) (`--missing`: print the
# packages to install, and stop; scripts/system-packages.sh installs them with the project's
# other system packages)
packages=""
for tool in podman runc mmdebstrap curl; do
    command -v "$tool" >/dev/null || packages="podman runc aardvark-dns mmdebstrap uidmap curl"
done
[ "${1:-}" = --missing ] && { echo "$packages"; exit 0; }
mkdir -p "$dir"
# one run at a time per engine folder: parallel test workers (xdist) may start it together
exec 9>"$dir/.lock"
flock 9
sock="$dir/podman.sock"
if [ -n "$packages" ]; then
    say "installing $packages from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $packages >&2
fi

# 2. crun fails on hybrid cgroups and the default ulimits cannot be set here
export CONTAINERS_CONF="$dir/containers.conf"
cat >"$CONTAINERS_CONF.tmp" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
EOF
mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"

# 3. the Docker-API service, unless its socket already answers
answers() { curl -sf --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }
if ! answers; then
    say "starting podman system service on $sock"
    rm -f "$sock"
    setsid nohup podman system service --time=0 "unix://$sock" >"$dir/engine.log" 2>&1 </dev/null 9>&- &
    for _ in $(seq 1 100); do answers && break; sleep 0.1; done
    answers || { say "the engine did not answer; see $dir/engine.log"; exit 1; }
fi

# 4. the build images: tags of the one Debian root filesystem (scripts/images/debian.sh)
# shellcheck source=images/debian.sh
. "$root/scripts/images/debian.sh"
python_image="$(debian_image build-python)"
node_image="$(debian_image build-node)"

echo "export DOCKER_HOST=unix://$sock"
echo "export LAAMBDA_TEST_BUILD_IMAGE=$python_image"
echo "export LAAMBDA_TEST_NODE_BUILD_IMAGE=$node_image"
echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
