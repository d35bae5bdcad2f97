"""The boto3 clients of laambda.deploy.aws: which are made once per process and settings and
shared, which are made anew for each caller, and that a forked child makes its own."""

from __future__ import annotations

import os
import uuid

import redis

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.observe import invoker
from laambda.fleet import aws_calls


def test_s3_and_other_clients_are_made_once_per_settings_and_still_counted(
    settings: Settings,
) -> None:
    mine = settings.model_copy(update={"queue": f"clients-{uuid.uuid4().hex[:8]}"})
    first, again = aws.s3_client(mine), aws.s3_client(mine)
    assert first is again
    assert aws.client("logs", mine) is aws.client("logs", mine)
    assert aws.client("logs", mine) is not aws.client("cloudwatch", mine)
    other = mine.model_copy(update={"queue": f"{mine.queue}-other"})
    assert aws.s3_client(other) is not first  # its calls count in the other queue's metrics
    assert aws.s3_client(mine, "eu-west-1") is not first

    first.list_buckets()
    again.list_buckets()
    broker = redis.Redis.from_url(mine.redis_url)
    try:
        calls, _ = aws_calls(broker, mine.queue)
        assert calls == {"s3.ListBuckets": 2}  # counted once each, not once per caller
        broker.delete(*broker.keys(f"*{mine.queue}*"))
    finally:
        broker.close()


def test_lambda_clients_are_made_for_each_caller(settings: Settings) -> None:
    """Their callers change them: an invoker's client makes one attempt, a deploy's has its
    rate hook; neither may reach another caller's client."""
    one_attempt = invoker(settings, settings.aws_region, read_timeout=5).client
    plain = aws.lambda_client(settings)
    assert plain is not one_attempt
    assert plain is not aws.lambda_client(settings)
    assert _retries(plain)
    assert not _retries(one_attempt)


def test_a_forked_child_makes_its_own(settings: Settings) -> None:
    parent = aws.s3_client(settings)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # Celery's prefork pool: the parent's connections are not the child's
        try:
            os.write(write, b"own" if aws.s3_client(settings) is not parent else b"same")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as answer:
        assert answer.read() == b"own"


def _retries(client: object) -> bool:
    """Whether botocore's retry handler is registered on the client (it is by default)."""
    emitter = client.meta.events._emitter  # type: ignore[attr-defined]
    return "retry-config-lambda" in emitter._unique_id_handlers
