"""What an operator sees of the whole fleet, from any API replica: /health and /metrics.

Every number comes from the parts all hosts share, never from this process's memory, so every
replica answers the same and nothing is lost when a worker host dies:

- builds and releases by outcome and duration: histograms computed from their rows in
  PostgreSQL at each scrape (a build's duration is finished_at - started_at, a release's
  applied_at - created_at). Destroying an app deletes its rows, which Prometheus reads as a
  counter reset (rate() and increase() handle those);
- the queue's depth: the length of the Celery queue's Redis lists;
- AWS calls and throttles by service and operation: the Redis hashes every host's boto3
  clients add to (laambda/fleet.py);
- worker hosts: the heartbeats worker processes keep alive in Redis (laambda/fleet.py).

Both routes need no token, like /health always did: they carry counts, statuses and host
names, never an app's name, config or code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import State
from starlette.responses import Response

from laambda.config import Settings
from laambda.deploy import aws
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.fleet import aws_calls, seen_workers
from laambda.objectstore import ObjectStore
from laambda.services.metrics import metrics_service

log = logging.getLogger("laambda.api")
_CHECK_SECONDS = 2  # each part's answer to /health is waited for this long at most
BUILD_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)  # seconds
RELEASE_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)  # seconds
# kombu's Redis transport keeps a queue's tasks of priority 3, 6 and 9 in lists of their own
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def _redis(state: State) -> redis.Redis:
    if getattr(state, "fleet_redis", None) is None:
        settings: Settings = state.settings
        state.fleet_redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=_CHECK_SECONDS, socket_connect_timeout=_CHECK_SECONDS
        )
    client: redis.Redis = state.fleet_redis
    return client


def _object_store(state: State) -> ObjectStore:
    if getattr(state, "fleet_store", None) is None:
        settings: Settings = state.settings
        client = aws.probe_s3_client(settings, _CHECK_SECONDS)
        state.fleet_store = ObjectStore(client, settings.artifact_bucket)
    store: ObjectStore = state.fleet_store
    return store


def health_parts(state: State) -> dict[str, dict[str, Any]]:
    """Each shared part's status ("up" or "down", with the reason when down): database, redis,
    object_store, and, when releases go to workers, the worker hosts seen in the last
    SEEN_SECONDS (laambda/fleet.py) by name, with their processes."""
    settings: Settings = state.settings
    parts: dict[str, dict[str, Any]] = {}
    sessions: sessionmaker[Session] = state.sessions
    try:
        with sessions() as session:
            metrics_service.ping(session)
        parts["database"] = {"status": "up"}
    except SQLAlchemyError as exc:
        parts["database"] = _down(exc)
    client = _redis(state)
    try:
        client.ping()
        parts["redis"] = {"status": "up"}
    except redis.RedisError as exc:
        parts["redis"] = _down(exc)
        client = None  # type: ignore[assignment]
    try:
        _object_store(state).check()
        parts["object_store"] = {"status": "up", "bucket": settings.artifact_bucket}
    except (ClientError, BotoCoreError) as exc:
        parts["object_store"] = _down(exc)
    if settings.applier == "celery":
        parts["workers"] = _workers(client, settings.queue)
    return parts


def _workers(client: redis.Redis | None, queue: str) -> dict[str, Any]:
    if client is None:
        return {"status": "down", "reason": "redis does not answer", "hosts": {}}
    try:
        seen = seen_workers(client, queue)
    except redis.RedisError as exc:
        return _down(exc) | {"hosts": {}}
    hosts: dict[str, dict[str, Any]] = {}
    for worker in seen:
        host = hosts.setdefault(worker.host, {"processes": 0, "seen_seconds_ago": None})
        host["processes"] += 1
        ago = host["seen_seconds_ago"]
        host["seen_seconds_ago"] = (
            worker.seen_seconds_ago if ago is None else min(ago, worker.seen_seconds_ago)
        )
    if not hosts:
        return {"status": "down", "reason": "no worker seen recently", "hosts": {}}
    return {"status": "up", "hosts": hosts}


def _down(exc: BaseException) -> dict[str, Any]:
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return {"status": "down", "reason": reason}


class FleetCollector(Collector):
    """The fleet's metrics, read from PostgreSQL and Redis at each scrape (see the module)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        settings: Settings = self.state.settings
        try:
            yield from self._durations()
        except SQLAlchemyError:
            log.exception("metrics: the database did not answer")
        try:
            yield from self._redis_metrics(_redis(self.state), settings.queue)
        except redis.RedisError:
            log.exception("metrics: redis did not answer")

    def _durations(self) -> Iterator[Metric]:
        sessions: sessionmaker[Session] = self.state.sessions
        with sessions() as session:
            builds = metrics_service.durations(
                session,
                "builds",
                "finished_at - started_at",
                [str(s) for s in BuildStatus.ENDED],
                BUILD_BUCKETS,
            )
            releases = metrics_service.durations(
                session,
                "releases",
                "applied_at - created_at",
                [str(s) for s in (ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED)],
                RELEASE_BUCKETS,
            )
            waiting = metrics_service.builds_in_progress(session)
        for name, doc, rows, buckets in (
            ("laambda_build_duration_seconds", "Builds that ended, by outcome", builds,
             BUILD_BUCKETS),
            ("laambda_release_duration_seconds", "Releases applied, by outcome", releases,
             RELEASE_BUCKETS),
        ):  # fmt: skip
            family = HistogramMetricFamily(name, doc, labels=["outcome"])
            for outcome, count, total, cumulative in rows:
                edges = [(_le(b), c) for b, c in zip(buckets, cumulative, strict=True)]
                family.add_metric([outcome], [*edges, ("+Inf", count)], sum_value=total)
            yield family
        in_progress = GaugeMetricFamily(
            "laambda_builds_in_progress",
            "Builds waiting for or held by a worker",
            labels=["status"],
        )
        for status in ("pending", "running"):
            in_progress.add_metric([status], waiting.get(status, 0))
        yield in_progress

    def _redis_metrics(self, client: redis.Redis, queue: str) -> Iterator[Metric]:
        depth = sum(int(client.llen(f"{queue}{suffix}")) for suffix in _PRIORITY_SUFFIXES)
        gauge = GaugeMetricFamily(
            "laambda_queue_depth", "Tasks waiting in the Celery queue", labels=["queue"]
        )
        gauge.add_metric([queue], depth)
        yield gauge
        calls, throttles = aws_calls(client, queue)
        for name, doc, values in (
            ("laambda_aws_calls", "AWS API calls made by any host, retries included", calls),
            ("laambda_aws_throttles", "AWS API calls answered with a throttling error", throttles),
        ):
            counter = CounterMetricFamily(name, doc, labels=["service", "operation"])
            for call, value in sorted(values.items()):
                service, _, operation = call.partition(".")
                counter.add_metric([service, operation], value)
            yield counter
        workers = GaugeMetricFamily(
            "laambda_worker_processes", "Worker processes seen recently, by host", labels=["host"]
        )
        per_host: dict[str, int] = {}
        for worker in seen_workers(client, queue):
            per_host[worker.host] = per_host.get(worker.host, 0) + 1
        for host, count in sorted(per_host.items()):
            workers.add_metric([host], count)
        yield workers


def _le(bucket: float) -> str:
    return f"{bucket:g}" if bucket != int(bucket) else f"{bucket:.1f}"


def metrics_response(registry: CollectorRegistry) -> Response:
    """The Prometheus text exposition of the registry."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def fleet_registry(state: State) -> CollectorRegistry:
    """A registry of this app's own (tests make many apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(state))
    return registry
