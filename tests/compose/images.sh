#!/usr/bin/env bash
# The images the compose test runs: those of scripts/compose-images.sh (the bases, laambda's
# image) and moto's server (moto.Containerfile on the Python base, made once per base and moto
# version, not again for every change to laambda's code), laambda's and moto's built at the
# same time. Runs scripts/container-engine.sh first (quick when it ran: its lock, then its
# cache). `make test` runs it early, in the background; the test runs it again and finds them.
# Prints, on stdout, the lines of compose-images.sh and `export LAAMBDA_MOTO_IMAGE=…`.
# Usage:  bash tests/compose/images.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${LAAMBDA_ENGINE_DIR:-$root/.cache/container-engine}"
eval "$(bash "$root/scripts/container-engine.sh")"
eval "$(bash "$root/scripts/compose-images.sh" --bases)"

images="$(mktemp)"
trap 'rm -f "$images"' EXIT
bash "$root/scripts/compose-images.sh" >"$images" &
laambda=$!

version="$(bash "$root/scripts/lock-version.sh" moto)"
uv_version="$(bash "$root/scripts/lock-version.sh" uv)"
# the services pyproject.toml's `local` extra asks moto for, and its server's Flask, as locked
extras="$(sed -n 's/^ *"moto\[\([^]]*\)\].*/\1/p' "$root/pyproject.toml")"
server="flask==$(bash "$root/scripts/lock-version.sh" flask) flask-cors==$(bash "$root/scripts/lock-version.sh" flask-cors)"
recipe="$( (cat "$here/moto.Containerfile"; echo "$uv_version $extras $server") | sha256sum | cut -c1-8)"
moto_image="localhost/laambda-moto:${LAAMBDA_PYTHON_IMAGE##*:}-$version-$recipe"
exec 9>"$dir/.moto-image.lock"  # one build of it at a time
flock 9
if ! podman image exists "$moto_image"; then
    echo "compose images: building $moto_image" >&2
    # shellcheck source=../../scripts/images/uv-cache.sh
    . "$root/scripts/images/uv-cache.sh"
    podman build --quiet --network host --build-arg "PYTHON_IMAGE=$LAAMBDA_PYTHON_IMAGE" \
        --build-arg "MOTO_VERSION=$version" --build-arg "MOTO_EXTRAS=$extras" \
        --build-arg "MOTO_SERVER=$server" --build-arg "UV_VERSION=$uv_version" \
        "${uv_cache_volume[@]}" -t "$moto_image" -f "$here/moto.Containerfile" "$here" >&2
fi
exec 9>&-
wait "$laambda"
cat "$images"
echo "export LAAMBDA_MOTO_IMAGE=$moto_image"
