#!/usr/bin/env bash
# Make the images docker-compose.yml runs, where no image registry can be reached: the bases
# (Python, PostgreSQL, Redis) assembled from Debian's packages with mmdebstrap and imported into
# podman, then laambda's own image built from the Dockerfile on the Python base. Idempotent:
# every image is keyed by its recipe (the bases' tars are cached under the engine's folder, which
# git ignores), so a second run answers in seconds.
#
# Needs the engine of scripts/container-engine.sh (run it first; CONTAINERS_CONF exported).
# Prints, on stdout, the variables docker-compose.yml reads for its images:
#   export LAAMBDA_PYTHON_IMAGE=… LAAMBDA_POSTGRES_IMAGE=… LAAMBDA_REDIS_IMAGE=… LAAMBDA_IMAGE=…
# Usage:  eval "$(bash scripts/container-engine.sh)"; eval "$(bash scripts/compose-images.sh)"
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${LAAMBDA_ENGINE_DIR:-$root/.cache/container-engine}"
mkdir -p "$dir"
# one run at a time per engine folder: parallel test workers (xdist) may start it together
exec 9>"$dir/.lock"
flock 9
say() { echo "compose-images: $*" >&2; }

# This machine reaches the package index through a proxy whose CA is installed locally: the
# images trust what the host trusts (nothing is added where no such certificate exists).
shopt -s nullglob
local_cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
ca_hash="$(cat /dev/null "${local_cas[@]}" | sha256sum | cut -c1-12)"

base_image() {  # base_image NAME PACKAGES [podman import --change …] -> prints the image reference
    local name="$1" packages="$2"; shift 2
    local entry=""
    [ "$name" = postgres ] && entry="$(sha256sum "$root/scripts/images/postgres-entrypoint.sh" | cut -c1-12)"
    local recipe="mmdebstrap --variant=apt --include=$packages bookworm ca=$ca_hash entry=$entry $*"
    local tag; tag="$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
    local image="localhost/laambda-base-$name:$tag" tar="$dir/base-image-$name-$tag.tar"
    if ! podman image exists "$image"; then
        if [ ! -s "$tar" ]; then
            say "assembling the $name image from Debian's packages (30 to 80 s)"
            local hooks=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
            for ca in "${local_cas[@]}"; do hooks+=(--customize-hook="upload $ca /usr/local/share/ca-certificates/$(basename "$ca")"); done
            hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
            if [ "$name" = postgres ]; then
                hooks+=(--customize-hook="upload $root/scripts/images/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint")
                hooks+=(--customize-hook='chmod 755 "$1/usr/local/bin/postgres-entrypoint"')
            fi
            mmdebstrap --quiet --format=tar --variant=apt --include="$packages" "${hooks[@]}" \
                bookworm "$tar.tmp" >&2
            mv "$tar.tmp" "$tar"
        fi
        say "importing $image"
        podman import --quiet "$@" "$tar" "$image" >&2
    fi
    echo "$image"
}

python_image="$(base_image python python3,python3-venv,python3-pip,ca-certificates,git,openssh-client,zip,bubblewrap \
    --change 'CMD ["python3"]')"
postgres_image="$(base_image postgres postgresql,ca-certificates \
    --change 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]' --change 'EXPOSE 5432')"
redis_image="$(base_image redis redis-server,ca-certificates \
    --change 'CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]' \
    --change 'EXPOSE 6379')"

# laambda's image: keyed by what the Dockerfile copies (git's view of the checkout, changes
# included), so an unchanged checkout reuses it; podman's layer cache keeps the dependencies'
# layer across code changes while uv.lock stays the same.
inputs="$(cd "$root" && git ls-files -co --exclude-standard -- Dockerfile .dockerignore pyproject.toml uv.lock README.md laambda receiver | sort | while read -r f; do [ -f "$f" ] && echo "$f"; done)"
tag="$( (cd "$root" && printf '%s\n' "$python_image" && cat $inputs) | sha256sum | cut -c1-12)"
laambda_image="localhost/laambda:$tag"
if ! podman image exists "$laambda_image"; then
    say "building $laambda_image from the Dockerfile (the first build installs the locked dependencies)"
    # the host's network: the build reaches the package index and Debian's mirror as the host does
    podman build --quiet --network host --build-arg "PYTHON_IMAGE=$python_image" \
        -t "$laambda_image" "$root" >&2
fi

echo "export LAAMBDA_PYTHON_IMAGE=$python_image"
echo "export LAAMBDA_POSTGRES_IMAGE=$postgres_image"
echo "export LAAMBDA_REDIS_IMAGE=$redis_image"
echo "export LAAMBDA_IMAGE=$laambda_image"
