# Sourced by scripts/container-engine.sh and scripts/compose-images.sh (which set $root, $dir,
# say() and podman's CONTAINERS_CONF, and hold the engine folder's lock): every image made here
# comes from ONE Debian root filesystem, assembled once with mmdebstrap from the union of the
# packages they need and imported once; each image is a tag of it, or a build of a few lines on
# it (its CMD, ENTRYPOINT, EXPOSE). One assembly of shared packages instead of five: on a clean
# machine that was most of the time `make test` spent on images.
#
#   python3 python3-pip python3-venv zip      the Python build image; laambda's and moto's base
#   nodejs (and npm, below)                   the Node.js build image
#   git openssh-client bubblewrap tzdata      laambda's image (the Dockerfile then installs none)
#   postgresql redis-server                   the compose layout's database and queue
#
# The host's local CA certificates are trusted in it (this machine reaches the package index
# through a proxy whose CA is installed locally; nothing is added where there is none), and it
# holds the PostgreSQL image's entry point (scripts/images/postgres-entrypoint.sh).
#
# What makes it smaller and quicker to assemble and import (on a new machine, this and its
# import were a third of the CPU `make test` spent beside the tests):
# - npm is the registry's own tarball (pinned, its sha512 checked), as in the public lambci-style
#   images, not Debian's npm, which brings some 300 packages of its own (eslint, webpack, babel);
# - without PostgreSQL's JIT (its LLVM and Z3 libraries, 130 MB): PostgreSQL runs its queries
#   without JIT when the provider library is missing (postgresql.org/docs/15/jit-configuration)
#   and these images' databases are small;
# - dpkg does not sync each file to disk (force-unsafe-io, as the public Debian images do): a
#   root filesystem that is made again from its recipe after a crash needs no durability;
# - the excluded paths are dpkg's configuration, written after mmdebstrap extracts the essential
#   packages, not its --dpkgopt: given those, mmdebstrap pipes each essential package through its
#   Python tar filter (a third of the assembly's time); the essential packages' few files there
#   are removed at the end instead, as the public slim images do;
# - PostgreSQL's packages make no cluster (createcluster.d): the PostgreSQL image makes its own
#   on first start (postgres-entrypoint.sh), and the default one was 40 MB of every image.

# the functions below run in command substitutions: a failed step must fail them (and so the
# script), not go on to import what it did not make
shopt -s inherit_errexit

debian_packages=python3,python3-pip,python3-venv,zip,ca-certificates,nodejs,git,openssh-client,bubblewrap,tzdata,postgresql,redis-server
# npm's release for bookworm's Node.js 18 (npm 10 needs 18.17 or later) and its dist.integrity
# (https://registry.npmjs.org/npm/10.9.9)
npm_version=10.9.9
npm_integrity=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==

# npm_tarball -> prints the path of npm's tarball, downloaded once from the registry into the
# engine's folder and checked against npm_integrity (fails, saying so, when it differs)
npm_tarball() {
    local tgz="$dir/npm-$npm_version.tgz"
    if [ ! -s "$tgz" ]; then
        curl -fsSL --retry 3 -o "$tgz.tmp" "https://registry.npmjs.org/npm/-/npm-$npm_version.tgz"
        local got; got="sha512-$(openssl dgst -sha512 -binary <"$tgz.tmp" | base64 -w0)"
        if [ "$got" != "$npm_integrity" ]; then
            say "npm-$npm_version.tgz from the registry is not the pinned one ($got)"
            rm -f "$tgz.tmp"
            return 1
        fi
        mv "$tgz.tmp" "$tgz"
    fi
    echo "$tgz"
}

# debian_base -> prints the root filesystem's image, keyed by its recipe (packages, dpkg's
# options, npm, local CAs, entry point); the tar is cached under the engine's folder, so a new
# engine store is quick
debian_base() {
    local local_cas=() ca
    shopt -s nullglob
    local_cas=(/usr/local/share/ca-certificates/*.crt)
    shopt -u nullglob
    local entry="$root/scripts/images/postgres-entrypoint.sh"
    local options=(--variant=apt --include="$debian_packages" --dpkgopt=force-unsafe-io)
    # without the documentation, manual pages, translations and PostgreSQL's JIT (see above):
    # dpkg leaves them out of every package it installs, and the essential packages' are removed
    local excluded=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/locale/*'
        '/usr/lib/llvm-14/*' '/usr/lib/x86_64-linux-gnu/libLLVM*' '/usr/lib/x86_64-linux-gnu/libz3*'
        '/usr/lib/postgresql/15/lib/llvmjit*' '/usr/lib/postgresql/15/lib/bitcode/*')
    options+=(--extract-hook="printf 'path-exclude=%s\\n' ${excluded[*]@Q} >\"\$1/etc/dpkg/dpkg.cfg.d/excludes\"")
    options+=(--essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" &&
        echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/no-main.conf"')
    options+=(--customize-hook="cd \"\$1\" && rm -rf ${excluded[*]/#\//}")
    local recipe
    recipe="mmdebstrap ${options[*]} bookworm npm=$npm_integrity
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
            local npm; npm="$(npm_tarball)"
            hooks+=(--customize-hook="upload $npm /tmp/npm.tgz")
            # where npm's own installs put it: /usr/local/lib/node_modules/npm, linked from bin
            hooks+=(--customize-hook='cd "$1/usr/local/lib" && mkdir -p node_modules/npm &&
                tar -xzf "$1/tmp/npm.tgz" -C node_modules/npm --strip-components=1 --no-same-owner &&
                rm "$1/tmp/npm.tgz" && ln -s ../lib/node_modules/npm/bin/npm-cli.js ../bin/npm &&
                ln -s ../lib/node_modules/npm/bin/npx-cli.js ../bin/npx')
            rm -f "$tar.tmp"
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
