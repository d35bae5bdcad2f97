"""The receiver on a free loopback port, driven by the real git client over ssh: people with
keys, apps, repositories, and what the remote and the database hold after a push."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from laambda.db.models import App, Build, Release, User
from laambda.db.session import session_scope
from laambda.receiver.server import Receiver
from laambda.services.app import app_service
from laambda.services.key import key_service
from laambda.services.user import user_service
from tests.support.pipelines import make_pipeline

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

    def staged_pipeline(self, name: str, owner: Person) -> None:
        """Pipeline `name` with two apps of `owner`: NAME-staging following develop and
        NAME-prod following main."""
        self.app(f"{name}-staging", owner)
        self.app(f"{name}-prod", owner)
        make_pipeline(
            self.sessions,
            name,
            owner.user,
            follow={
                f"{name}-staging": ("staging", "develop"),
                f"{name}-prod": ("production", "main"),
            },
        )

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

    def pipeline_url(self, pipeline: str) -> str:
        return f"ssh://git@127.0.0.1:{self.port}/pipelines/{pipeline}"


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


def ls_remote(site: Site, person: Person, app: str) -> str:
    env = os.environ | {"GIT_SSH_COMMAND": person.ssh(site.port)}
    listed = subprocess.run(
        ["git", "ls-remote", site.url(app), "refs/heads/main"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return listed.stdout.split()[0] if listed.stdout.strip() else ""


def live_release(sessions: sessionmaker[Session], app: str) -> tuple[int, str]:
    """(version, commit) of the app's newest succeeded release."""
    with session_scope(sessions) as session:
        row = session.execute(
            select(Release.version, Build.commit)
            .join(Build, Build.id == Release.build_id)
            .join(App, App.id == Release.app_id)
            .where(App.name == app, Release.status == "succeeded")
            .order_by(Release.version.desc())
            .limit(1)
        ).one()
        return int(row[0]), str(row[1])
