"""/health and /metrics: the fleet as any API replica sees it through the shared parts."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
import redis
from botocore.config import Config
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from laambda.api.app import create_app
from laambda.config import Settings
from laambda.db.base import utcnow
from laambda.deploy import aws
from laambda.fleet import announce, count_aws_calls, seen_workers
from laambda.services.applier import InlineApplier
from tests.support import factories
from tests.support.live_worker import LiveWorker
from tests.support.net import answering_server


@pytest.fixture
def fleet_settings(database_url: str, moto_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        aws_endpoint_url=moto_url,
        applier="celery",
        queue=f"laambda-fleet-{uuid.uuid4().hex[:8]}",
        artifact_bucket=f"laambda-fleet-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def broker(fleet_settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(fleet_settings.redis_url)
    yield client
    if leftovers := client.keys(f"*{fleet_settings.queue}*"):
        client.delete(*leftovers)
    client.close()


@pytest.fixture
def fleet_client(fleet_settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    api = create_app(fleet_settings)
    api.state.sessions = sessions
    api.state.applier = InlineApplier(sessions)
    with TestClient(api) as client:
        yield client


def _metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_health_names_each_part_and_the_worker_hosts_seen(
    fleet_client: TestClient, fleet_settings: Settings, broker: redis.Redis
) -> None:
    response = fleet_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["parts"]["database"] == {"status": "up"}
    assert body["parts"]["redis"] == {"status": "up"}
    assert body["parts"]["object_store"]["status"] == "up"
    assert body["parts"]["workers"] == {
        "status": "down",
        "reason": "no worker seen recently",
        "hosts": {},
    }

    # two worker hosts announce themselves (as `laambda worker` does every few seconds)
    for host in ("worker-a", "worker-b"):
        announce(broker, fleet_settings.model_copy(update={"host_name": host}), concurrency=2)
    response = fleet_client.get("/health")
    assert response.status_code == 200, response.text
    workers = response.json()["parts"]["workers"]
    assert workers["status"] == "up"
    assert sorted(workers["hosts"]) == ["worker-a", "worker-b"]
    assert workers["hosts"]["worker-a"]["processes"] == 1
    assert workers["hosts"]["worker-a"]["seen_seconds_ago"] < 5


def _health_without(
    part: dict[str, str], settings: Settings, sessions: sessionmaker[Session]
) -> dict[str, Any]:
    """/health's parts from an API whose settings point `part` (a setting -> a URL where
    nothing answers) away; asserts the 503."""
    api = create_app(settings.model_copy(update=part))
    api.state.sessions = sessions
    with TestClient(api) as client:
        response = client.get("/health")
    assert response.status_code == 503
    parts: dict[str, Any] = response.json()["parts"]
    return parts


def test_health_says_which_part_is_down(
    fleet_settings: Settings, sessions: sessionmaker[Session], broker: redis.Redis
) -> None:
    announce(broker, fleet_settings)
    parts = _health_without({"redis_url": "redis://127.0.0.1:1/0"}, fleet_settings, sessions)
    assert parts["redis"]["status"] == "down"
    assert parts["redis"]["reason"]  # redis-py's words: "Error 111 connecting to ..."
    assert parts["workers"]["status"] == "down"
    assert parts["database"] == {"status": "up"}


def test_health_says_when_the_object_store_does_not_answer(
    fleet_settings: Settings, sessions: sessionmaker[Session], broker: redis.Redis
) -> None:
    announce(broker, fleet_settings)
    parts = _health_without({"aws_endpoint_url": "http://127.0.0.1:1"}, fleet_settings, sessions)
    assert parts["object_store"]["status"] == "down"
    assert "127.0.0.1:1" in parts["object_store"]["reason"]  # botocore's "Could not connect…"
    assert parts["redis"] == {"status": "up"}


def test_metrics_count_builds_queue_and_aws_calls(
    fleet_client: TestClient, fleet_settings: Settings, broker: redis.Redis, db: Session
) -> None:
    app = factories.app(name="metered")
    now = utcnow()
    factories.build(
        app_id=app.id, status="succeeded", started_at=now - timedelta(seconds=7), finished_at=now
    )
    factories.build(
        app_id=app.id, status="failed", started_at=now - timedelta(seconds=200), finished_at=now
    )
    factories.build(app_id=app.id, status="pending")
    db.commit()
    broker.lpush(fleet_settings.queue, "task-1", "task-2")
    s3 = aws.s3_client(fleet_settings)
    s3.create_bucket(Bucket=fleet_settings.artifact_bucket)
    s3.head_bucket(Bucket=fleet_settings.artifact_bucket)

    samples = _metrics(fleet_client)
    succeeded = (("outcome", "succeeded"),)
    assert samples[("laambda_build_duration_seconds_count", succeeded)] >= 1
    assert samples[("laambda_build_duration_seconds_bucket", (("le", "10.0"), *succeeded))] >= 1
    failed = (("outcome", "failed"),)
    assert (
        samples[("laambda_build_duration_seconds_bucket", (("le", "120.0"), *failed))]
        < (samples[("laambda_build_duration_seconds_bucket", (("le", "300.0"), *failed))])
    )
    assert samples[("laambda_builds_in_progress", (("status", "pending"),))] >= 1
    assert samples[("laambda_queue_depth", (("queue", fleet_settings.queue),))] == 2
    calls = (("operation", "HeadBucket"), ("service", "s3"))
    assert samples[("laambda_aws_calls_total", calls)] >= 1


@pytest.mark.usefixtures("broker")  # for its cleanup of the counts
def test_throttled_calls_are_counted_with_their_retries(
    fleet_client: TestClient, fleet_settings: Settings
) -> None:
    # Lambda's answer when an account's request rate is exceeded (HTTP 429)
    throttled = json.dumps({"Type": "User", "message": "Rate exceeded"}).encode()
    headers = {"x-amzn-ErrorType": "TooManyRequestsException", "Content-Type": "application/json"}
    with answering_server(429, headers, throttled) as port:
        client = boto3.session.Session().client(
            "lambda",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{port}",
            config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
        )
        count_aws_calls(client, fleet_settings)
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            client.get_function(FunctionName="busy")
    samples = _metrics(fleet_client)
    labels = (("operation", "GetFunction"), ("service", "lambda"))
    assert samples[("laambda_aws_calls_total", labels)] == 2  # the call and its retry
    assert samples[("laambda_aws_throttles_total", labels)] == 2


def _call_at_once(client: Any, start: threading.Barrier, failures: list[BaseException]) -> None:
    start.wait()
    try:
        client.list_buckets()
    except BaseException as exc:  # reported by the test
        failures.append(exc)


def test_parallel_first_calls_are_all_counted_and_none_fails(
    fleet_settings: Settings, broker: redis.Redis, request: pytest.FixtureRequest
) -> None:
    """A receiver's first pushes call AWS from many threads at once: each call goes through
    and is counted (the counter once made two Redis clients, the second closing the first's
    connections under the calls, which then failed)."""
    threads, rounds = 16, 8
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave at every few bytecodes, as under load
    request.addfinalizer(lambda: sys.setswitchinterval(switch))
    for round_ in range(rounds):  # a new counter each round: the race is at its first calls
        settings = fleet_settings.model_copy(update={"queue": f"{fleet_settings.queue}-{round_}"})
        clients = [aws.client("s3", settings) for _ in range(threads)]  # each one counted
        start = threading.Barrier(threads)
        failures: list[BaseException] = []
        running = [
            threading.Thread(target=_call_at_once, args=(c, start, failures)) for c in clients
        ]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(30)
        assert failures == []
        calls = broker.hgetall(f"laambda:{settings.queue}:aws-calls")
        assert calls == {b"s3.ListBuckets": str(threads).encode()}, round_
        broker.delete(*broker.keys(f"*{settings.queue}*"))


def test_a_running_worker_announces_itself(live_worker: LiveWorker) -> None:
    client = redis.Redis.from_url(live_worker.settings.redis_url)
    try:
        deadline = time.monotonic() + 15
        while not (seen := seen_workers(client, live_worker.settings.queue)):
            assert time.monotonic() < deadline, live_worker.tail()
            time.sleep(0.5)
    finally:
        client.close()
    assert [worker.pid for worker in seen] == [live_worker.process.pid]
    assert seen[0].host == live_worker.settings.host_name
