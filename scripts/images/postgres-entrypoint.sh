#!/bin/sh
# The entry point of the PostgreSQL image made from Debian's packages (scripts/compose-images.sh),
# doing what the public postgres image's does with the settings docker-compose.yml gives:
# POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB made on first start; listens on 5432.
set -eu
bin="$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
data=/var/lib/postgresql/data
user="${POSTGRES_USER:-postgres}"
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >/run/postgresql/pw
    chown postgres /run/postgresql/pw
    runuser -u postgres -- "$bin/initdb" -D "$data" -U "$user" --pwfile=/run/postgresql/pw -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm /run/postgresql/pw
    echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -o "-c listen_addresses=''" -w start >/dev/null
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
        runuser -u postgres -- "$bin/createdb" -U "$user" "$POSTGRES_DB"
    fi
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
