"""A live worker of a module's own, whose recovery sweep runs every 2 s, and pushes watched in
the background while a test kills the worker's pool or the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings, settings_env
from laambda.db.models import App
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.logstream import LogEvent, follow
from laambda.objectstore import ObjectStore
from laambda.services.build import build_service
from laambda.services.user import user_service
from tests.support.archives import tarball
from tests.support.aws import ensure_role
from tests.support.live_worker import LiveWorker, start_worker
from tests.support.platform import Platform


def crash_settings(database_url: str, moto_url: str, data_dir: str) -> Settings:
    return Settings(
        database_url=database_url,
        aws_endpoint_url=moto_url,
        artifact_bucket="laambda-crash",
        data_dir=data_dir,
        queue=f"laambda-crash-{uuid.uuid4().hex[:8]}",
        builder="wheels",
        applier="celery",
        recovery_interval=2,
        deploy_concurrency=2,
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
    )


def stop_worker(worker: LiveWorker) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()
    if worker.process.stdout is not None:
        worker.process.stdout.close()


@dataclass
class CrashWorker:
    """The module's crash worker: the one running now (a test that kills the whole worker puts
    the one it started in its place)."""

    current: LiveWorker


@pytest.fixture(scope="module")
def crash_worker(
    database_url: str, moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrashWorker]:
    """One crash worker for a module's tests (a worker's start is 1.5 CPU-s): each test waits
    until what it killed has recovered, and its tables are emptied after it."""
    settings = crash_settings(database_url, moto_url, str(tmp_path_factory.mktemp("crash")))
    env = dict(os.environ) | settings_env(settings)
    process, output = start_worker(env)
    worker = CrashWorker(LiveWorker(settings, env, process, output))
    yield worker
    stop_worker(worker.current)


@pytest.fixture
def crash_platform(
    crash_worker: CrashWorker, committed_sessions: sessionmaker[Session]
) -> Iterator[Platform]:
    worker = crash_worker.current
    if worker.process.poll() is not None:  # killed by the test before and not replaced
        process, output = start_worker(worker.env)
        worker = crash_worker.current = LiveWorker(worker.settings, worker.env, process, output)
    settings = worker.settings
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    ensure_role(settings)
    with session_scope(committed_sessions) as session:
        user, _ = user_service.create(session, "crash@example.com")
    platform = Platform(
        worker=worker,
        sessions=committed_sessions,
        store=store,
        streams=redis.Redis.from_url(settings.redis_url),
        user=user,
        lambda_client=aws.lambda_client(settings),
    )
    yield platform
    crash_worker.current = platform.worker
    platform.streams.close()


@dataclass
class Watched:
    """A push whose log is read in the background while the test kills things."""

    build_id: int
    events: list[LogEvent] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)

    def lines(self, needle: str) -> int:
        return sum(1 for e in list(self.events) if e.line is not None and needle in e.line)


def push_watched(platform: Platform, app: App, files: dict[str, str], commit: str) -> Watched:
    key = f"sources/{app.name}/{commit}.tar.gz"
    platform.store.put_bytes(key, tarball(files))
    with session_scope(platform.sessions) as session:
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit=commit,
            source_key=key,
            queue=platform.worker.queue,
        )
        watched, uid = Watched(build.id), build.uid

    def read() -> None:
        for event in follow(platform.streams, uid, idle_seconds=1):
            if event is not None:
                watched.events.append(event)
        watched.ended.set()

    threading.Thread(target=read, daemon=True).start()
    return watched


def wait_for(condition: Callable[[], bool], what: str, platform: Platform, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}:\n{platform.worker.tail()}"
        time.sleep(0.02)


def kill_pool(platform: Platform) -> None:
    children = platform.worker.children()
    assert children, "the worker has no pool processes"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
