"""One place that makes boto3 clients, so every call has timeouts and adaptive retries.

Lambda's control plane allows about 15 requests a second per account; botocore's adaptive
retry mode backs off on throttling client-side instead of hammering the API. Lambda clients
use the standard mode instead: the worker paces their calls itself (calls.RateLimiter).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config

from laambda.fleet import count_aws_calls

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

    from laambda.config import Settings

RetryMode = Literal["standard", "adaptive"]

# One boto3 session per process makes every client, as boto3.client() does with its default
# session: a new session per client parsed botocore's endpoint, partition and service-model
# JSON again each time (about 60 ms a client; 60 % of a moto-backed deploy test's set-up).
# Making a client from a session is not thread-safe, so it happens under a lock; a forked
# child (Celery's pool) starts its own session and lock.
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


# The clients nothing changes after making them (S3, IAM, CloudWatch, CloudWatch Logs,
# EventBridge) are made once per process and settings, and shared: boto3's clients are
# thread-safe, and making one costs 20 to 40 ms of CPU (its event hooks copied, its endpoint
# rules read), which an API request paid for each object-store or logs client it made. Lambda
# clients are not shared: their callers change them (`observe.invoke_client` removes their
# retries, `calls.LambdaCalls.watch` adds a hook per deploy).
_shared: dict[tuple[object, ...], Any] = {}


def _forget_session() -> None:
    global _session, _session_lock
    _session, _session_lock = None, threading.Lock()
    _shared.clear()


os.register_at_fork(after_in_child=_forget_session)


def _config(max_pool: int, read_timeout: int = 60, mode: RetryMode = "adaptive") -> Config:
    return Config(
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"max_attempts": 10, "mode": mode},
        max_pool_connections=max_pool,
    )


def _made(service: str, settings: Settings, region: str | None, config: Config) -> Any:
    """A client of the process's one session (made on first use)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            service,  # type: ignore[call-overload]
            region_name=region or settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            config=config,
        )


def _client(
    service: str,
    settings: Settings,
    region: str | None,
    read_timeout: int = 60,
    mode: RetryMode = "adaptive",
) -> Any:
    config = _config(max(10, settings.deploy_concurrency * 2), read_timeout, mode)
    client = _made(service, settings, region, config)
    count_aws_calls(client, settings)  # /metrics: calls and throttles (laambda/fleet.py)
    return client


def _shared_client(service: str, settings: Settings, region: str | None) -> Any:
    """The process's client of `service` for these settings (made on first use, see _shared)."""
    key = (
        service,
        region or settings.aws_region,
        settings.aws_endpoint_url,
        settings.deploy_concurrency,
        settings.redis_url,  # the fleet's counters its calls go to
        settings.queue,
    )
    client = _shared.get(key)
    if client is None:
        client = _client(service, settings, region)
        client = _shared.setdefault(key, client)  # two threads at once: both get the first
    return client


def lambda_client(
    settings: Settings, region: str | None = None, *, read_timeout: int = 60
) -> LambdaClient:
    """`read_timeout` (seconds) must outlast the function when the client invokes one.

    botocore's standard retries (backoff on throttling), not its adaptive mode: the worker
    paces Lambda calls to the quota itself (calls.RateLimiter), and adaptive mode, once a
    call was throttled, caps every later call of the client at twice the rate it measured,
    so after a phase paced at 15 a second a rollback's GetFunction reads crawled at about 30
    a second (issue 17: measured 0.6 s for 50, 0.19 s without).
    """
    client: LambdaClient = _client("lambda", settings, region, read_timeout, mode="standard")
    return client


def s3_client(settings: Settings, region: str | None = None) -> S3Client:
    """The process's S3 client for these settings (shared: callers must not change it)."""
    client: S3Client = _shared_client("s3", settings, region)
    return client


def probe_s3_client(settings: Settings, timeout: int) -> S3Client:
    """An S3 client for health checks: one attempt, `timeout` seconds at most to connect and
    as many to read, so /health answers promptly when the object store does not; its calls are
    not counted in /metrics (they are the checks, not the platform's work)."""
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    client: S3Client = _made("s3", settings, None, config)
    return client


def client(service: str, settings: Settings, region: str | None = None) -> Any:
    """Any other service (logs, events, cloudwatch, iam), with the same timeouts and retries;
    the process's one client per service and settings (shared: callers must not change it)."""
    return _shared_client(service, settings, region)
