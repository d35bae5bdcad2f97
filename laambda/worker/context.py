"""What a worker process holds for its whole life: settings, the database, S3, Redis, and
Lambda clients per region (boto3 clients are slow to make and safe to share across threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings, get_settings
from laambda.crypto import Cipher
from laambda.db.session import forget_connections_after_fork, get_engine, make_sessionmaker
from laambda.deploy import aws
from laambda.deploy.calls import RateLimiter
from laambda.deploy.lambda_ import Deployer
from laambda.objectstore import ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


@dataclass
class WorkerContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: Cipher
    store: ObjectStore
    streams: redis.Redis
    _clients: dict[str, LambdaClient] = field(default_factory=dict)
    _limiters: dict[str, RateLimiter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerContext:
        engine = get_engine(settings.database_url)
        store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
        store.ensure_bucket()
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            cipher=Cipher(settings.secret_key),
            store=store,
            streams=redis.Redis.from_url(settings.redis_url),
        )

    def deployer(self, region: str, log: Callable[[str], None]) -> Deployer:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = aws.lambda_client(self.settings, region)
                self._limiters[region] = RateLimiter(
                    self.settings.lambda_rate, self.settings.lambda_get_function_rate
                )
            client, limiter = self._clients[region], self._limiters[region]
        return Deployer(
            client,
            self.store,
            concurrency=self.settings.deploy_concurrency,
            log=log,
            limiter=limiter,
        )


@lru_cache(maxsize=1)
def get_context() -> WorkerContext:
    return WorkerContext.from_settings(get_settings())


def forget_context_after_fork() -> None:
    """A pool child starts with a copy of its parent's context, whose database, Redis and
    AWS connections are the parent's sockets: forget them all, so that the child makes its
    own on first use. Called from Celery's worker_process_init (worker/main.py)."""
    forget_connections_after_fork()
    get_context.cache_clear()
