"""Build and deploy output crosses hosts through a Redis stream per build.

The worker appends lines as they happen and a final `done` entry; the git receiver (on any
host) follows the stream and relays lines to the pusher. The stream expires after a day; the
full log is also stored on the Build row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

KEEP_SECONDS = 24 * 3600


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
    def __init__(self, client: redis.Redis, build: uuid.UUID) -> None:
        self.client = client
        self.key = _stream(build)

    def line(self, text: str) -> None:
        self.client.xadd(self.key, {"line": text})
        self.client.expire(self.key, KEEP_SECONDS)

    def finish(self, status: str, detail: str = "") -> None:
        self.client.xadd(self.key, {"done": status, "detail": detail})
        self.client.expire(self.key, KEEP_SECONDS)


def follow(
    client: redis.Redis, build: uuid.UUID, *, idle_seconds: float = 15.0, start: str = "0-0"
) -> Iterator[LogEvent | None]:
    """Every event of a build's stream in order; yields None after `idle_seconds` of silence
    (so the caller can keep its connection alive) and stops after the `done` event."""
    key, last = _stream(build), start
    while True:
        answer: Any = client.xread({key: last}, block=int(idle_seconds * 1000), count=100)
        if not answer:
            yield None
            continue
        entries = answer[key] if isinstance(answer, dict) else answer[0][1]  # RESP3 or RESP2
        for entry_id, fields in entries:
            last = entry_id
            data = {_text(k): _text(v) for k, v in fields.items()}
            if "done" in data:
                yield LogEvent(status=data["done"], detail=data.get("detail", ""))
                return
            yield LogEvent(line=data.get("line", ""))


def request_cancel(client: redis.Redis, build: uuid.UUID) -> None:
    client.set(_cancel_key(build), "1", ex=KEEP_SECONDS)


def cancel_requested(client: redis.Redis, build: uuid.UUID) -> bool:
    return bool(client.exists(_cancel_key(build)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
