"""The CLI as users run it (a process of its own, forked from a zygote that imported the CLI
once: tests/support/cli_zygote.py) against the API served by uvicorn on a free loopback port,
logged in as alice (an admin); the `cli` and `held_cli` fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import uvicorn
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from laambda.db.models import Release
from laambda.db.session import session_scope
from laambda.services.user import user_service
from tests.support.api import app_for
from tests.support.cli_zygote import zygote
from tests.support.net import free_port

LAAMBDA = str(Path(sys.executable).with_name("laambda"))  # the console script users run


@dataclass
class Cli:
    url: str
    home: Path
    token: str
    sessions: sessionmaker[Session]
    settings: Settings

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        stdin: str | None = None,
        login: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `laambda ARGS` as a user would; `env` adds variables (LAAMBDA_* included)."""
        given = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAAMBDA_")}
        env |= {"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config")}
        if login:
            env |= {"LAAMBDA_API_URL": self.url, "LAAMBDA_API_TOKEN": self.token}
        env |= given
        return zygote().run(list(args), env=env, cwd=cwd or self.home, stdin=stdin, timeout=60)


@contextmanager
def serving(
    settings: Settings, committed_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Cli]:
    """The API on a free loopback port, and the CLI logged in as alice (an admin)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app_for(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    with session_scope(committed_sessions) as session:
        _, token = user_service.create(session, "alice@example.com", is_admin=True)
    home = tmp_path / "home"
    home.mkdir()
    yield Cli(f"http://127.0.0.1:{port}", home, token, committed_sessions, settings)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def cli(
    database_url: str, committed_sessions: sessionmaker[Session], tmp_path: Path, moto_url: str
) -> Iterator[Cli]:
    settings = Settings(
        database_url=database_url,
        applier="inline",
        aws_endpoint_url=moto_url,
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
        data_dir=tmp_path / "data",
    )
    with serving(settings, committed_sessions, tmp_path) as running:
        yield running


@pytest.fixture
def held_cli(
    database_url: str, committed_sessions: sessionmaker[Session], tmp_path: Path, moto_url: str
) -> Iterator[Cli]:
    """Releases are handed to a Celery queue no worker reads: they stay pending until the
    test ends them, as a worker (or the sweep of a dead one) would."""
    queue = f"laambda-cli-test-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=database_url,
        applier="celery",
        queue=queue,
        aws_endpoint_url=moto_url,
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
        data_dir=tmp_path / "data",
    )
    with serving(settings, committed_sessions, tmp_path) as running:
        yield running
    broker = redis.Redis.from_url(settings.broker_url)
    if leftovers := broker.keys(f"*{queue}*"):
        broker.delete(*leftovers)
    broker.close()


def end_release_soon(cli: Cli, version: int, status: str, error: str) -> threading.Thread:
    """End release `version` the way a worker or the sweep does, once it is recorded."""

    def end() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with session_scope(cli.sessions) as session:
                ended = session.execute(
                    update(Release)
                    .where(Release.version == version, Release.status == "pending")
                    .values(status=status, error=error)
                )
            if ended.rowcount:  # type: ignore[attr-defined]
                return

    thread = threading.Thread(target=end, daemon=True)
    thread.start()
    return thread
