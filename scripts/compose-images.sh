#!/usr/bin/env bash
# Make the images docker-compose.yml runs, where no image registry can be reached: the bases
# (Python, PostgreSQL, Redis), each the one Debian root filesystem of scripts/images/debian.sh
# with its command, then laambda's own image built from the Dockerfile on the Python base.
# Idempotent: every image is keyed by its recipe (the root filesystem's tar is cached under the
# engine's folder, which git ignores), so a second run answers in seconds.
#
# Needs the engine of scripts/container-engine.sh (run it first; CONTAINERS_CONF exported).
# Prints, on stdout, the variables docker-compose.yml reads for its images:
#   export LAAMBDA_PYTHON_IMAGE=… LAAMBDA_POSTGRES_IMAGE=… LAAMBDA_REDIS_IMAGE=… LAAMBDA_IMAGE=…
# Usage:  eval "$(bash scripts/container-engine.sh)"; eval "$(bash scripts/compose-images.sh)"
#         `compose-images.sh --bases`: the bases only (seconds, once the engine's script ran),
#         to build other images on them while laambda's is built
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${LAAMBDA_ENGINE_DIR:-$root/.cache/container-engine}"
mkdir -p "$dir"
# one run at a time per engine folder: parallel test workers (xdist) may start it together
exec 9>"$dir/.lock"
flock 9
say() { echo "compose-images: $*" >&2; }

# the bases: the one Debian root filesystem (scripts/images/debian.sh) with each one's command
# shellcheck source=images/debian.sh
. "$root/scripts/images/debian.sh"
python_image="$(debian_image base-python 'CMD ["python3"]')"
postgres_image="$(debian_image base-postgres 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]' 'EXPOSE 5432')"
redis_image="$(debian_image base-redis \
    'CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]' 'EXPOSE 6379')"
bases="export LAAMBDA_PYTHON_IMAGE=$python_image
export LAAMBDA_POSTGRES_IMAGE=$postgres_image
export LAAMBDA_REDIS_IMAGE=$redis_image"
[ "${1:-}" = --bases ] && { echo "$bases"; exit 0; }

# laambda's image: keyed by what the Dockerfile copies (git's view of the checkout, changes
# included), so an unchanged checkout reuses it; podman's layer cache keeps the dependencies'
# layer across code changes while uv.lock stays the same.
inputs="$(cd "$root" && git ls-files -co --exclude-standard -- Dockerfile .dockerignore pyproject.toml uv.lock README.md scripts/lock-version.sh laambda receiver | sort | while read -r f; do [ -f "$f" ] && echo "$f"; done)"
tag="$( (cd "$root" && printf '%s\n' "$python_image" && cat $inputs) | sha256sum | cut -c1-12)"
laambda_image="localhost/laambda:$tag"
# its build has a lock of its own: the engine's scripts need not wait for it
exec 9>"$dir/.laambda-image.lock"
flock 9
if ! podman image exists "$laambda_image"; then
    say "building $laambda_image from the Dockerfile (the first build installs the locked dependencies)"
    # the host's network: the build reaches the package index and Debian's mirror as the host
    # does; the host's uv cache, where there is one, lends the locked wheels (their hashes are
    # still checked) instead of downloading them again
    # shellcheck source=images/uv-cache.sh
    . "$root/scripts/images/uv-cache.sh"
    podman build --quiet --network host --build-arg "PYTHON_IMAGE=$python_image" \
        "${uv_cache_volume[@]}" -t "$laambda_image" "$root" >&2
fi

echo "$bases"
echo "export LAAMBDA_IMAGE=$laambda_image"
