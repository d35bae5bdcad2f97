#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, starting them where they are installed
# but stopped. Fails with a message that says what to start when they are not installed.
set -euo pipefail

pg_answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! pg_answers; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
  pg_answers || {
    echo "PostgreSQL does not answer on 127.0.0.1:5432: install and start it" \
      "(Debian: apt-get install postgresql; pg_ctlcluster 15 main start), trust auth for user postgres" >&2
    exit 1
  }
fi

if ! redis_answers; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/laambda-redis.log
  fi
  for _ in $(seq 1 30); do redis_answers && break; sleep 1; done
  redis_answers || {
    echo "Redis does not answer on 127.0.0.1:6379: install and start it" \
      "(Debian: apt-get install redis-server; redis-server --daemonize yes)" >&2
    exit 1
  }
fi
echo "PostgreSQL and Redis answer on 127.0.0.1"
