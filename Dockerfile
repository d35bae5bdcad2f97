# One image for every part of laambda: the command picks the part (see docker-compose.yml).
FROM python:3.12-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client zip bubblewrap \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml uv.lock README.md alembic.ini ./
# exactly the locked versions, their hashes checked by pip (uv itself at its locked version)
RUN uv_version="$(python -c 'import tomllib; print(next(p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "uv"))')" \
 && pip install --no-cache-dir "uv==${uv_version}" \
 && python -m uv export --frozen --no-emit-project --no-dev -o /tmp/requirements.txt \
 && pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY laambda ./laambda
COPY receiver ./receiver
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps -e .
ENV LAAMBDA_DATA_DIR=/data
VOLUME /data
CMD ["laambda", "api"]
