"""Redis for one machine with none running: a Redis-protocol server in this process (fakeredis,
with Lua scripting through `lupa` for the EVALSHA Celery's Redis transport uses), so Celery and
the build log streams work unchanged. Used only when no Redis answers."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from fakeredis import TcpFakeServer


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def start_inprocess_redis(host: str = "127.0.0.1") -> tuple[TcpFakeServer, str]:
    """A Redis-protocol server on a free port of `host`, in a thread of this process; returns
    it and its URL. fakeredis is imported here, not with the module: `laambda up` asks whether
    Redis answers first, and a quarter of a second of imports is wasted when it does."""
    from fakeredis import TcpFakeServer

    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = TcpFakeServer((host, port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"redis://{host}:{port}/0"
