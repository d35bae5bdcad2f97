"""What every host of a fleet tells the others through the shared Redis: which workers are alive,
and how many AWS calls they made and had throttled.

Workers run on any number of hosts and each in several processes (Celery's prefork pool), so
nothing is kept in a process's memory for the API to read: each worker's main process writes
a heartbeat key with a time to live (`announce`), and every AWS call, from any process, adds one
to a Redis hash (`count_aws_calls`). Any API replica reads the same keys (`seen_workers`,
`aws_calls`), so /health and /metrics give the fleet's view whichever replica answers.

Keys live under the installation's queue name (settings.queue), as the Celery queue does:
installations sharing one Redis stay apart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from laambda.config import Settings

log = logging.getLogger("laambda.fleet")
HEARTBEAT_SECONDS = 5.0  # how often a worker says it is alive
SEEN_SECONDS = 20  # how long a heartbeat counts: a worker silent longer is gone
# the error codes AWS answers a throttled call with (Lambda, S3, STS, CloudWatch, IAM)
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
    }
)


_QUIET_SECONDS = 30.0


def _prefix(queue: str) -> str:
    return f"laambda:{queue}"


@dataclass(frozen=True)
class WorkerSeen:
    """One worker process, as its last heartbeat described it."""

    host: str
    pid: int
    concurrency: int | None
    seen_seconds_ago: float


def announce(client: redis.Redis, settings: Settings, *, concurrency: int | None = None) -> None:
    """Write this worker's heartbeat (host, pid), alive for SEEN_SECONDS."""
    key = f"{_prefix(settings.queue)}:workers:{settings.host_name}:{os.getpid()}"
    value = {
        "host": settings.host_name,
        "pid": os.getpid(),
        "concurrency": concurrency,
        "seen": time.time(),
    }
    client.set(key, json.dumps(value), ex=SEEN_SECONDS)


def announce_forever(
    settings: Settings, stop: threading.Event, *, concurrency: int | None = None
) -> None:
    """A worker's main process: a heartbeat every HEARTBEAT_SECONDS until `stop` is set; Redis
    being away is logged and tried again, never fatal."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        while True:
            try:
                announce(client, settings, concurrency=concurrency)
            except redis.RedisError as exc:
                log.warning("could not announce this worker: %s", exc)
            if stop.wait(HEARTBEAT_SECONDS):
                return
    finally:
        client.close()


def seen_workers(client: redis.Redis, queue: str) -> list[WorkerSeen]:
    """The worker processes whose heartbeat is still alive, by host then pid."""
    now = time.time()
    seen = []
    for key in client.scan_iter(match=f"{_prefix(queue)}:workers:*", count=500):
        raw = client.get(key)
        if raw is None:
            continue  # expired meanwhile
        try:
            value = json.loads(raw)
            seen.append(
                WorkerSeen(
                    host=str(value["host"]),
                    pid=int(value["pid"]),
                    concurrency=value.get("concurrency"),
                    seen_seconds_ago=round(max(0.0, now - float(value["seen"])), 1),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(seen, key=lambda worker: (worker.host, worker.pid))


class _CallCounter:
    """botocore's `response-received` hook (one event per HTTP attempt, retries included):
    one HINCRBY per call in `<prefix>:aws-calls`, and in `<prefix>:aws-throttles` when AWS
    answered with a throttling error. Redis being away, or any failure of the count, costs
    the count, never the call. Called from many threads at once (a receiver's parallel
    pushes, the deploy pool): they share one Redis client, made once per process."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.redis_url
        self.prefix = _prefix(settings.queue)
        self.quiet_until = 0.0  # after a failure, calls go uncounted for a while, never slowed
        self.forget()

    def forget(self) -> None:
        """No client yet (a new counter, or one in a forked child, which makes its own)."""
        self.client: redis.Redis | None = None
        self.made = threading.Lock()

    def _redis(self) -> redis.Redis:
        # one client, made once: a second one, made by a thread racing the first, would close
        # the first's connections under its calls when it replaced it
        with self.made:
            if self.client is None:
                self.client = redis.Redis.from_url(
                    self.url, socket_timeout=1, socket_connect_timeout=1
                )
            return self.client

    def __call__(self, event_name: str, parsed_response: Any = None, **_: Any) -> None:
        # response-received.<service-id>.<Operation>
        call = event_name.partition(".")[2]
        throttled = False
        if isinstance(parsed_response, dict):
            code = parsed_response.get("Error", {}).get("Code")
            throttled = code in THROTTLE_CODES
        if time.monotonic() < self.quiet_until:
            return
        try:
            pipe = self._redis().pipeline(transaction=False)
            pipe.hincrby(f"{self.prefix}:aws-calls", call, 1)
            if throttled:
                pipe.hincrby(f"{self.prefix}:aws-throttles", call, 1)
            pipe.execute()
        except Exception:  # noqa: BLE001 (the count is best effort: it must not fail the call)
            self.quiet_until = time.monotonic() + _QUIET_SECONDS


_counters: dict[tuple[str, str], _CallCounter] = {}
_counters_lock = threading.Lock()


def _forget_in_a_forked_child() -> None:
    """A forked child (a Celery pool child) has its own locks and makes its own Redis
    clients: a lock a thread of the parent held at the fork would never be released in it."""
    global _counters_lock
    _counters_lock = threading.Lock()
    for counter in _counters.values():
        counter.forget()


os.register_at_fork(after_in_child=_forget_in_a_forked_child)


def count_aws_calls(client: Any, settings: Settings) -> None:
    """Count every call (and throttle) the boto3 `client` makes in the fleet's Redis."""
    with _counters_lock:
        counter = _counters.setdefault((settings.redis_url, settings.queue), _CallCounter(settings))
    client.meta.events.register("response-received", counter)


def aws_calls(client: redis.Redis, queue: str) -> tuple[dict[str, int], dict[str, int]]:
    """(calls, throttles) by `service.Operation`, summed over every host since Redis began."""

    def read(name: str) -> dict[str, int]:
        raw: dict[bytes, bytes] = client.hgetall(f"{_prefix(queue)}:{name}")  # type: ignore[assignment]
        return {key.decode(): int(value) for key, value in raw.items()}

    return read("aws-calls"), read("aws-throttles")
