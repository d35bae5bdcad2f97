"""Pushing work to the live worker the way the receiver does: a source tarball in S3 and a
Build row, then following the build's log stream to its end."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from laambda.db.models import App, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.deploy.s3 import ObjectStore
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.user import user_service
from laambda.worker.logstream import LogEvent, follow
from tests.conftest import LiveWorker

HANDLER = 'import os\n\ndef handler(event, context):\n    return {"app": "{name}", "bucket": os.environ.get("BUCKET")}\n'


def tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


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
    lambda_client: object

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


@pytest.fixture
def platform(
    live_worker: LiveWorker, committed_sessions: sessionmaker[Session]
) -> Iterator[Platform]:
    settings = live_worker.settings
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    iam = aws.client("iam", settings)
    if not iam.list_roles()["Roles"]:
        print(iam.create_role(RoleName="lambda-basic", AssumeRolePolicyDocument="{}"))
    with session_scope(committed_sessions) as session:
        user, _ = user_service.create(session, "alice@example.com")
    yield Platform(
        worker=live_worker,
        sessions=committed_sessions,
        store=store,
        streams=redis.Redis.from_url(settings.redis_url),
        user=user,
        lambda_client=aws.lambda_client(settings),
    )


Wait = Callable[[Callable[[], bool], float], None]
