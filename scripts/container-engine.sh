#!/usr/bin/env bash
# Start a real Docker-API engine (podman) and make the Debian build image, idempotently.
#
# Prints, on stdout, shell lines to eval:
#   export DOCKER_HOST=unix:///…/podman.sock
#   export LAAMBDA_TEST_BUILD_IMAGE=localhost/laambda-build-python:<recipe hash>
#   export LAAMBDA_TEST_NODE_BUILD_IMAGE=localhost/laambda-build-node:<recipe hash>
#   export CONTAINERS_CONF=…/containers.conf
# Everything else goes to stderr. The first run takes about 3 minutes (apt, two images); a
# second run answers within a second or two.
# Usage:  eval "$(bash scripts/container-engine.sh)"
# Env:    LAAMBDA_ENGINE_DIR (default <repo>/.cache/container-engine) holds the socket, the
#         engine's log, containers.conf and the cached image tar.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${LAAMBDA_ENGINE_DIR:-$root/.cache/container-engine}"
mkdir -p "$dir"
# one run at a time per engine folder: parallel test workers (xdist) may start it together
exec 9>"$dir/.lock"
flock 9
sock="$dir/podman.sock"
say() { echo "container-engine: $*" >&2; }

# 1. the tools, from Debian's packages
missing=""
for tool in podman runc mmdebstrap curl; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
    say "installing$missing from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq podman runc mmdebstrap uidmap curl >&2
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

# 4. the build images, keyed by their recipes; the tars are cached so a new engine store is quick
image_for() {  # image_for NAME PACKAGES -> prints the image reference
    local name="$1" packages="$2"
    local recipe="mmdebstrap --variant=apt --include=$packages bookworm"
    local tag; tag="$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
    local image="localhost/laambda-build-$name:$tag" tar="$dir/build-image-$name-$tag.tar"
    if ! podman image exists "$image"; then
        if [ ! -s "$tar" ]; then
            say "assembling the $name build image from Debian's packages (30 to 80 s)"
            mmdebstrap --quiet --format=tar --variant=apt --include="$packages" bookworm "$tar.tmp" >&2
            mv "$tar.tmp" "$tar"
        fi
        say "importing $image"
        podman import --quiet "$tar" "$image" >&2
    fi
    echo "$image"
}
python_image="$(image_for python python3,python3-pip,python3-venv,zip,ca-certificates)"
node_image="$(image_for node nodejs,npm,ca-certificates)"

echo "export DOCKER_HOST=unix://$sock"
echo "export LAAMBDA_TEST_BUILD_IMAGE=$python_image"
echo "export LAAMBDA_TEST_NODE_BUILD_IMAGE=$node_image"
echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
