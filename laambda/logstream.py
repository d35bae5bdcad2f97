"""Build and deploy output crosses hosts through a Redis stream per build.

The worker appends lines as they happen and a final `done` entry; the git receiver (on any
host) follows the stream and relays lines to the pusher. The stream expires after a day; the
full log is also stored on the Build row.

Reading never depends on the Redis client's default timeouts (redis-py 8 gives up on a socket
read after 5 s): each XREAD blocks for at most BLOCK_SECONDS, and `connect` gives the reader's
socket a timeout well above that. A reader that loses Redis hears silence and carries on.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

log = logging.getLogger("laambda.worker")
KEEP_SECONDS = 24 * 3600
# how long one XREAD waits on the server for a new entry
BLOCK_SECONDS = 1.0
# a reply to that XREAD is late only after this long (must exceed BLOCK_SECONDS)
SOCKET_TIMEOUT_SECONDS = BLOCK_SECONDS + 10.0
CONNECT_TIMEOUT_SECONDS = 5.0


def connect(url: str) -> redis.Redis:
    """A client for following build streams, with every timeout set here rather than left to
    the library's defaults (seconds: connect 5, socket read BLOCK_SECONDS + 10)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def _stream(build: uuid.UUID) -> str:
    return f"laambda:build:{build}:log"


def _cancel_key(build: uuid.UUID) -> str:
    return f"laambda:build:{build}:cancel"


@dataclass(frozen=True)
class LogEvent:
    """One line of output, or (line is None) the end with the outcome."""

    line: str | None = None
    status: str | None = None
    detail: str = ""


class LogPublisher:
    """The worker's end of a build's stream. Best effort: the stream only carries the lines to
    the pusher as they happen, while the Build and Release rows hold the log and the outcome
    (the receiver asks the database whenever the stream is quiet), so a Redis blip costs the
    pusher some lines, never the build."""

    def __init__(self, client: redis.Redis, build: uuid.UUID) -> None:
        self.client = client
        self.key = _stream(build)

    def line(self, text: str) -> None:
        self._add({"line": text})

    def finish(self, status: str, detail: str = "") -> None:
        self._add({"done": status, "detail": detail})

    def _add(self, fields: dict[FieldT, EncodableT]) -> None:
        try:
            self.client.xadd(self.key, fields)
            self.client.expire(self.key, KEEP_SECONDS)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("build stream %s: %s; the line stays in the build's log", self.key, exc)


def follow(
    client: redis.Redis,
    build: uuid.UUID,
    *,
    idle_seconds: float = 15.0,
    start: str = "0-0",
    block_seconds: float = BLOCK_SECONDS,
) -> Iterator[LogEvent | None]:
    """Every event of a build's stream in order; yields None after each `idle_seconds` of
    silence (so the caller can keep its connection alive and ask the database how the build
    is doing) and stops after the `done` event. Silence may last forever: the caller decides
    when it has heard enough. Redis being unreachable counts as silence, so the caller's
    database check still ends the wait."""
    key, last = _stream(build), start
    block = max(0.001, min(block_seconds, idle_seconds))
    quiet_since = time.monotonic()
    while True:
        try:
            answer: Any = client.xread({key: last}, block=int(block * 1000), count=100)
        except (redis.ConnectionError, redis.TimeoutError):
            answer = None
            time.sleep(block)  # Redis is restarting or unreachable: try again shortly
        if not answer:
            if time.monotonic() - quiet_since >= idle_seconds:
                quiet_since = time.monotonic()
                yield None
            continue
        quiet_since = time.monotonic()
        entries = answer[key] if isinstance(answer, dict) else answer[0][1]  # RESP3 or RESP2
        for entry_id, fields in entries:
            last = entry_id
            data = {_text(k): _text(v) for k, v in fields.items()}
            if "done" in data:
                yield LogEvent(status=data["done"], detail=data.get("detail", ""))
                return
            yield LogEvent(line=data.get("line", ""))


def stream_exists(client: redis.Redis, build: uuid.UUID) -> bool:
    """Whether the build's stream is still in Redis (it expires KEEP_SECONDS after its last
    line); False when Redis cannot be reached."""
    try:
        return bool(client.exists(_stream(build)))
    except (redis.ConnectionError, redis.TimeoutError):
        return False


def request_cancel(client: redis.Redis, build: uuid.UUID) -> None:
    client.set(_cancel_key(build), "1", ex=KEEP_SECONDS)


def cancel_requested(client: redis.Redis, build: uuid.UUID) -> bool:
    return bool(client.exists(_cancel_key(build)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
