# Sourced by scripts/compose-images.sh and tests/compose/images.sh: sets uv_cache_volume, the
# `podman build` options that lend the host's uv cache (`make venv` filled it) to a build's RUN
# steps at /uv-cache, where the Dockerfile's and moto's installs look for it; empty where the
# host has no uv cache (those installs then download, and cache nothing). uv still checks the
# locked hashes; the cache only saves downloading the same wheels again.
uv_cache_volume=()
uv_cache_dir="${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/uv}"
if [ -d "$uv_cache_dir" ]; then uv_cache_volume=(--volume "$uv_cache_dir:/uv-cache"); fi
