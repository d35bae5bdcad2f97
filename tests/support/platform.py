"""Pushing work to the live worker the way the receiver does: a source tarball in S3 and a
Build row, then following the build's log stream to its end (`platform` fixture)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from laambda.crypto import Cipher
from laambda.db.models import App, Release, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.logstream import LogEvent, follow
from laambda.objectstore import ObjectStore
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.check import check_service
from laambda.services.config import config_service
from laambda.services.function import function_service
from laambda.services.promotion import promotion_service
from laambda.services.release import release_service
from laambda.services.user import user_service
from tests.support.archives import tarball
from tests.support.aws import ensure_role
from tests.support.live_worker import LiveWorker

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

HANDLER = """import os


def handler(event, context):
    return {"entry": "{name}", "bucket": os.environ.get("BUCKET")}
"""


def python_app(entries: list[str], *, marker: str = "1") -> dict[str, str]:
    """A pure-Python app: one module per Procfile entry, no dependencies."""
    files = {"requirements.txt": "", ".python-version": "3.12\n"}
    files["Procfile"] = "".join(f"{entry}: {entry}_mod.handler\n" for entry in entries)
    for entry in entries:
        files[f"{entry}_mod.py"] = HANDLER.replace("{name}", entry) + f"# {marker}\n"
    return files


@dataclass
class Pushed:
    build_id: int
    events: list[LogEvent]

    @property
    def outcome(self) -> LogEvent:
        return self.events[-1]

    @property
    def text(self) -> str:
        return "\n".join(e.line for e in self.events if e.line is not None)


@dataclass
class Platform:
    worker: LiveWorker
    sessions: sessionmaker[Session]
    store: ObjectStore
    streams: redis.Redis
    user: User
    lambda_client: LambdaClient

    def create_app(self, name: str) -> App:
        with session_scope(self.sessions) as session:
            return app_service.create(session, self.user, name=name, settings=self.worker.settings)

    def push(self, app: App, files: dict[str, str], commit: str, *, timeout: float = 300) -> Pushed:
        key = f"sources/{app.name}/{commit}.tar.gz"
        self.store.put_bytes(key, tarball(files))
        with session_scope(self.sessions) as session:
            build = build_service.create(
                session,
                session.get_one(App, app.id),
                user=self.user,
                commit=commit,
                source_key=key,
                queue=self.worker.queue,
            )
            build_id, uid = build.id, build.uid
        events: list[LogEvent] = []
        deadline = time.monotonic() + timeout
        for event in follow(self.streams, uid, idle_seconds=2):
            assert time.monotonic() < deadline, "build did not finish:\n" + "".join(
                self.worker.output[-30:]
            )
            if event is not None:
                events.append(event)
        return Pushed(build_id, events)

    def change_config(self, app: App, changes: dict[str, str | None]) -> int:
        """A config release, handed to the worker as the API does; returns its id."""
        with session_scope(self.sessions) as session:
            locked = session.get_one(App, app.id, with_for_update=True)
            result = config_service.change(
                session,
                locked,
                user=self.user,
                changes=changes,
                cipher=Cipher(self.worker.settings.secret_key),
                applier=self.worker.queue,
            )
            assert result.release is not None, result.detail
            return result.release.id

    def change_resources(self, app: App, entry: str, *, memory: int) -> int:
        """A resources release (`resource:memory`), handed to the worker as the API does;
        returns its id."""
        with session_scope(self.sessions) as session:
            locked = session.get_one(App, app.id, with_for_update=True)
            result = function_service.change(
                session,
                locked,
                entry,
                user=self.user,
                memory=memory,
                timeout=None,
                cipher=Cipher(self.worker.settings.secret_key),
                applier=self.worker.queue,
            )
            assert result.release is not None, result.detail
            return result.release.id

    def rollback(
        self, app: App, version: int | None = None, *, run_release_phase: bool = False
    ) -> int:
        with session_scope(self.sessions) as session:
            locked = session.get_one(App, app.id, with_for_update=True)
            release = release_service.rollback(
                session,
                locked,
                user=self.user,
                version=version,
                cipher=Cipher(self.worker.settings.secret_key),
                applier=self.worker.queue,
                run_release_phase=run_release_phase,
            )
            return release.id

    def promote(self, app: App) -> list[int]:
        """`laambda pipelines:promote` of `app`, as the API does it: the ids of the releases
        made (none when the next stage runs that build already)."""
        with session_scope(self.sessions) as session:
            _, outcomes = promotion_service.promote(
                session,
                self.user,
                app=app.name,
                to=None,
                cipher=Cipher(self.worker.settings.secret_key),
                applier=self.worker.queue,
                data_dir=self.worker.settings.data_dir,
            )
            return [o.release.id for o in outcomes if o.release is not None]

    def set_check(self, app: App, entry: str, event: dict[str, Any], expect_status: int) -> None:
        """A smoke check of `entry`'s new versions, as `laambda checks:set` makes it."""
        with session_scope(self.sessions) as session:
            check_service.set(
                session,
                session.get_one(App, app.id),
                entry,
                user=session.get_one(User, self.user.id),
                event=event,
                expect_status=expect_status,
            )

    def wait_release(self, release_id: int, timeout: float = 120) -> Release:
        """Wait until the worker ends the release; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            with session_scope(self.sessions) as session:
                release = session.get_one(Release, release_id)
                if release.status in ("succeeded", "failed", "abandoned"):
                    return release
            assert time.monotonic() < deadline, "release not applied:\n" + self.worker.tail()
            time.sleep(0.1)

    def live(self, function: str) -> dict[str, Any]:
        """The configuration `live` points at, as AWS holds it."""
        config = self.lambda_client.get_function_configuration(
            FunctionName=function, Qualifier="live"
        )
        return dict(config)


@pytest.fixture
def platform(live_worker: LiveWorker, committed_sessions: sessionmaker[Session]) -> Platform:
    settings = live_worker.settings
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    ensure_role(settings)
    with session_scope(committed_sessions) as session:
        user, _ = user_service.create(session, "alice@example.com")
    return Platform(
        worker=live_worker,
        sessions=committed_sessions,
        store=store,
        streams=redis.Redis.from_url(settings.redis_url),
        user=user,
        lambda_client=aws.lambda_client(settings),
    )
