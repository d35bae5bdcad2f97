# Sourced by scripts/container-engine.sh and scripts/compose-images.sh (which set $root, $dir,
# say() and podman's CONTAINERS_CONF, and hold the engine folder's lock): every image made here
# comes from ONE Debian root filesystem, assembled once with mmdebstrap from the union of the
# packages they need and imported once; each image is a tag of it, or a build of a few lines on
# it (its CMD, ENTRYPOINT, EXPOSE). One assembly of shared packages instead of five: on a clean
# machine that was most of the time `make test` spent on images.
#
#   python3 python3-pip python3-venv zip      the Python build image; laambda's and moto's base
#   nodejs npm                                the Node.js build image
#   git openssh-client bubblewrap tzdata      laambda's image (the Dockerfile then installs none)
#   postgresql redis-server                   the compose layout's database and queue
#
# The host's local CA certificates are trusted in it (this machine reaches the package index
# through a proxy whose CA is installed locally; nothing is added where there is none), and it
# holds the PostgreSQL image's entry point (scripts/images/postgres-entrypoint.sh).

debian_packages=python3,python3-pip,python3-venv,zip,ca-certificates,nodejs,npm,git,openssh-client,bubblewrap,tzdata,postgresql,redis-server

# debian_base -> prints the root filesystem's image, keyed by its recipe (packages, local CAs,
# entry point); the tar is cached under the engine's folder, so a new engine store is quick
debian_base() {
    local local_cas=() ca
    shopt -s nullglob
    local_cas=(/usr/local/share/ca-certificates/*.crt)
    shopt -u nullglob
    local entry="$root/scripts/images/postgres-entrypoint.sh"
    # without the documentation, manual pages and translations (a tar an eighth smaller)
    local options=(--variant=apt --include="$debian_packages")
    local excluded
    for excluded in doc man info locale; do options+=(--dpkgopt="path-exclude=/usr/share/$excluded/*"); done
    local recipe
    recipe="mmdebstrap ${options[*]} bookworm
ca=$(cat /dev/null "${local_cas[@]}" | sha256sum | cut -c1-12) entry=$(sha256sum <"$entry" | cut -c1-12)"
    local tag; tag="$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
    local image="localhost/laambda-debian:$tag" tar="$dir/debian-$tag.tar"
    if ! podman image exists "$image"; then
        if [ ! -s "$tar" ]; then
            say "assembling the Debian root filesystem of every image from Debian's packages (1 to 3 min)"
            local hooks=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
            for ca in "${local_cas[@]}"; do
                hooks+=(--customize-hook="upload $ca /usr/local/share/ca-certificates/$(basename "$ca")")
            done
            hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
            hooks+=(--customize-hook="upload $entry /usr/local/bin/postgres-entrypoint")
            hooks+=(--customize-hook='chmod 755 "$1/usr/local/bin/postgres-entrypoint"')
            mmdebstrap --quiet --format=tar "${options[@]}" "${hooks[@]}" bookworm "$tar.tmp" >&2
            mv "$tar.tmp" "$tar"
        fi
        say "importing $image"
        podman import --quiet "$tar" "$image" >&2
    fi
    echo "$image"
}

# debian_image NAME [CONTAINERFILE LINE…] -> prints localhost/laambda-NAME:<tag>, the base with
# those lines (a tag of it without any), keyed by the base and the lines
debian_image() {
    local name="$1"; shift
    local base; base="$(debian_base)"
    local lines=""
    [ $# -eq 0 ] || lines="$(printf '%s\n' "$@")"
    local tag; tag="$(printf '%s\n%s' "$base" "$lines" | sha256sum | cut -c1-12)"
    local image="localhost/laambda-$name:$tag"
    if ! podman image exists "$image"; then
        if [ -z "$lines" ]; then
            podman tag "$base" "$image" >&2
        else
            say "making $image"
            local context; context="$(mktemp -d)"
            printf 'FROM %s\n%s\n' "$base" "$lines" >"$context/Containerfile"
            podman build --quiet -t "$image" "$context" >&2
            rm -rf "$context"
        fi
    fi
    echo "$image"
}
