# One image for every part of laambda: the command picks the part (see docker-compose.yml).
FROM python:3.12-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client zip bubblewrap \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY laambda ./laambda
COPY receiver ./receiver
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
ENV LAAMBDA_DATA_DIR=/data
VOLUME /data
CMD ["laambda", "api"]
