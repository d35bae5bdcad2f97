# One image for every part of laambda: the command picks the part (see docker-compose.yml).
# It installs the wheel built from this checkout, with exactly the locked dependencies (their
# hashes checked by uv), and without the `local` extra: PostgreSQL, Redis and AWS are real.
#
# uv installs (the version uv.lock pins). A build may lend it a download cache: a volume at
# /uv-cache (scripts/compose-images.sh mounts the host's, which `make venv` filled); without
# one, nothing is cached and the image holds no cache.
#
# PYTHON_IMAGE: a Debian bookworm with Python 3.11+ (venv and pip); the public image by default.
# Where no registry can be reached, scripts/compose-images.sh passes one made from Debian's
# packages.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# 1. the wheel, and the locked requirements of a production install
FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY scripts/lock-version.sh ./scripts/
RUN uv_version="$(bash scripts/lock-version.sh uv)" \
 && python3 -m venv --without-pip /uv \
 && python3 -m pip --python /uv/bin/python install --no-cache-dir --quiet "uv==${uv_version}" \
 && mkdir /dist \
 && /uv/bin/uv export --frozen --no-emit-project --no-dev -o /dist/requirements.txt
COPY laambda ./laambda
# uv's settings for each install: the system's certificates (a proxy's CA added to the base
# image counts), files copied (a cache volume is another file system), the cache if lent one
ENV UV_SYSTEM_CERTS=1 UV_LINK_MODE=copy
RUN cache="$([ -d /uv-cache ] && echo --cache-dir=/uv-cache || echo --no-cache)" \
 && /uv/bin/uv build --wheel "$cache" --out-dir /dist .

# 2. the image: the system programs builds and pushes use (those the base lacks: a base made
# from Debian's packages has them all), then the dependencies (a layer kept while uv.lock stays
# the same), then the wheel. The venvs are made without ensurepip's pip (seconds of CPU each):
# the base's pip installs uv into the first, and pip is a locked dependency of the second.
FROM ${PYTHON_IMAGE}
RUN missing="$(for p in git openssh-client zip bubblewrap tzdata; do \
        dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q ' installed$' || echo "$p"; done)" \
 && if [ -n "$missing" ]; then \
        apt-get update && apt-get install -y --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; fi
COPY --from=wheel /dist/requirements.txt /tmp/requirements.txt
RUN --mount=type=bind,from=wheel,source=/uv/bin/uv,target=/usr/local/bin/uv \
    cache="$([ -d /uv-cache ] && echo --cache-dir=/uv-cache || echo --no-cache)" \
 && python3 -m venv --without-pip /opt/laambda \
 && UV_SYSTEM_CERTS=1 UV_LINK_MODE=copy uv pip install --python /opt/laambda/bin/python \
        "$cache" --compile-bytecode --require-hashes -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY --from=wheel /dist/*.whl /tmp/
RUN --mount=type=bind,from=wheel,source=/uv/bin/uv,target=/usr/local/bin/uv \
    uv pip install --python /opt/laambda/bin/python --no-cache --compile-bytecode --no-deps \
        /tmp/laambda-*.whl \
 && rm /tmp/*.whl
ENV PATH=/opt/laambda/bin:$PATH \
    LAAMBDA_DATA_DIR=/data
VOLUME /data
CMD ["laambda", "api"]
