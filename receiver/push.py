"""The pre-receive step of a push: the pushed commit is built, released and applied, and the
pusher watches it happen. Its answer accepts the push (the ref moves) or rejects it.

Pushes to one app wait for each other in the receiver, before git shows them the refs; the
build runs on a worker, on any host, and its lines come back through Redis.
A pusher who disconnects does not stop the build: the worker finishes and records it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import select

from laambda.config import Settings
from laambda.db.models import App, User
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.deploy import aws
from laambda.deploy.s3 import ObjectStore
from laambda.services.build import build_service
from laambda.worker.enqueue import CeleryQueue
from laambda.worker.logstream import LogEvent, follow

DEPLOY_BRANCHES = ("refs/heads/main", "refs/heads/master")
# the worker is quiet at most this long before the pusher hears a progress line
KEEPALIVE_SECONDS = 15.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    """pre-receive's standard input: `<old> <new> <ref>` per line."""
    return [RefUpdate(*line.split()) for line in lines if line.strip()]


def refusal(update: RefUpdate) -> str | None:
    """Why a ref update is refused, or None when it deploys."""
    if not update.ref.startswith("refs/heads/"):
        return f"'{update.ref}' is not a branch: laambda deploys the main branch only"
    if update.ref not in DEPLOY_BRANCHES:
        branch = update.ref.removeprefix("refs/heads/")
        return (
            f"pushed to '{branch}': laambda deploys the main branch; "
            f"push with `git push laambda {branch}:main`"
        )
    if update.new.strip("0") == "":
        return "deleting the deploy branch is not allowed"
    return None


class Push:
    def __init__(self, settings: Settings, *, app: str, user_id: int, say: Say) -> None:
        self.settings = settings
        self.app = app
        self.user_id = user_id
        self.say = say
        self.sessions = make_sessionmaker(get_engine(settings.database_url))

    def run(self, updates: list[RefUpdate]) -> bool:
        """Build and release the pushed commit; True accepts the push."""
        for update in updates:
            if (reason := refusal(update)) is not None:
                self.say(f" !     Push rejected: {reason}")
                return False
        if len(updates) != 1:
            self.say(" !     Push rejected: push main or master, not both at once")
            return False
        return self._deploy(updates[0].new)

    def _deploy(self, commit: str) -> bool:
        self.say(f"-----> Building {self.app} at {commit[:7]}")
        key = f"sources/{self.app}/{commit}.tar.gz"
        store = ObjectStore(aws.s3_client(self.settings), self.settings.artifact_bucket)
        store.ensure_bucket()
        with tempfile.TemporaryDirectory() as work:
            tarball = Path(work) / "source.tar.gz"
            subprocess.run(
                ["git", "archive", "--format=tar.gz", "-o", str(tarball), commit], check=True
            )
            store.put_file(key, tarball)
        with session_scope(self.sessions) as session:
            app = session.scalars(select(App).where(App.name == self.app)).one()
            build = build_service.create(
                session,
                app,
                user=session.get(User, self.user_id),
                commit=commit,
                source_key=key,
                queue=CeleryQueue(self.settings),
            )
            uid = build.uid
        streams = redis.Redis.from_url(self.settings.redis_url)
        return relay(follow(streams, uid, idle_seconds=KEEPALIVE_SECONDS), self.say)


def relay(events: Iterable[LogEvent | None], say: Say) -> bool:
    """The build's lines to the pusher as they come, a progress line whenever it is quiet (so
    nothing between drops the connection), and its outcome; True when it was released."""
    for event in events:
        if event is None:
            say("-----> … still working")
        elif event.line is not None:
            say(event.line)
        elif event.status == "succeeded":
            say(f"-----> {event.detail}")
            return True
        else:
            say(f" !     Push rejected: {event.detail or 'the build was ' + str(event.status)}")
            return False
    return False
