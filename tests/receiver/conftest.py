"""The receiver on a loopback port, driven by the real git client over ssh: `site` has a real
worker behind it (tests/conftest.py `live_worker`); `front` has none, for what is decided
before anything is built (keys, commands, access, the push lock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from tests.support.aws import ensure_role
from tests.support.live_worker import LiveWorker
from tests.support.receiver import Site, serving


@pytest.fixture
def site(
    live_worker: LiveWorker, committed_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Site]:
    settings = live_worker.settings.model_copy(
        update={"ssh_port": 0, "data_dir": tmp_path / "receiver", "push_lock_timeout": 120.0}
    )
    ensure_role(settings)
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
