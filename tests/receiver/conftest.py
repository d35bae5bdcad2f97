"""The receiver on a loopback port, driven by the real git client over ssh: `site` has a real
worker behind it (tests/conftest.py `live_worker`); `front` has none, for what is decided
before anything is built (keys, commands, access, the push lock)."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from laambda.db.models import App, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.services.app import app_service
from laambda.services.key import key_service
from laambda.services.user import user_service
from receiver.server import Receiver
from tests.conftest import LiveWorker

SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes"


@dataclass
class Person:
    user: User
    key: Path

    def ssh(self, port: int) -> str:
        return f"ssh -i {self.key} -p {port} {SSH_OPTIONS} -o LogLevel=ERROR"


@dataclass
class Site:
    settings: Settings
    port: int
    sessions: sessionmaker[Session]
    tmp: Path

    def person(self, email: str, *, key: bool = True, admin: bool = False) -> Person:
        path = self.tmp / f"{email}.key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(path)],
            check=True,
        )
        with session_scope(self.sessions) as session:
            user, _ = user_service.create(session, email, is_admin=admin)
            if key:
                key_service.add(
                    session, user, (path.with_suffix(".key.pub")).read_text(), name=None
                )
        return Person(user, path)

    def app(self, name: str, owner: Person) -> App:
        with session_scope(self.sessions) as session:
            return app_service.create(session, owner.user, name=name, settings=self.settings)

    def repo(self, name: str, files: dict[str, str]) -> Path:
        path = self.tmp / "clones" / name
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")
        commit(path, files, "first")
        return path

    def push(
        self, repo: Path, person: Person, remote: str, *refspec: str
    ) -> subprocess.CompletedProcess[str]:
        env = os.environ | {"GIT_SSH_COMMAND": person.ssh(self.port)}
        return subprocess.run(
            ["git", "push", remote, *(refspec or ("main",))],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def url(self, app: str) -> str:
        return f"ssh://git@127.0.0.1:{self.port}/{app}"


def git(repo: Path, *args: str) -> str:
    env = os.environ | {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@contextmanager
def serving(
    settings: Settings, sessions: sessionmaker[Session], tmp: Path, *, keepalive: float = 15.0
) -> Iterator[Site]:
    """A receiver on a free loopback port for the block."""
    receiver = Receiver(settings, keepalive=keepalive)
    port = receiver.bind()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(settings, port, sessions, tmp)
    finally:
        receiver.stop()
        thread.join(timeout=5)


@pytest.fixture
def site(
    live_worker: LiveWorker, committed_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Site]:
    settings = live_worker.settings.model_copy(
        update={"ssh_port": 0, "data_dir": tmp_path / "receiver", "push_lock_timeout": 120.0}
    )
    iam = aws.client("iam", settings)
    if not iam.list_roles()["Roles"]:
        iam.create_role(RoleName="lambda-basic", AssumeRolePolicyDocument="{}")
    with serving(settings, committed_sessions, tmp_path) as running:
        yield running


@pytest.fixture
def front(
    settings: Settings,
    database_url: str,
    committed_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> Iterator[Site]:
    """No worker: a build it queues waits until the test cancels it. Its queue is its own, so
    no worker (a test's or a developer's `laambda up`) ever takes that build."""
    queue = f"laambda-receiver-test-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={
            "database_url": database_url,
            "ssh_port": 0,
            "push_lock_timeout": 2.0,
            "queue": queue,
        }
    )
    with serving(settings, committed_sessions, tmp_path, keepalive=0.5) as running:
        yield running
    broker = redis.Redis.from_url(settings.broker_url)
    if leftovers := broker.keys(f"*{queue}*"):
        broker.delete(*leftovers)
    broker.close()
