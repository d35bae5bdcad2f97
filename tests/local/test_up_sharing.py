"""Two `laambda up` on one machine: one data directory is one platform (a second `up` on it
refuses at once), and platforms with different data directories on one Redis each take only
their own builds (their own queue)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from laambda.up import _bring_parts, lock_data_dir, queue_for

LAAMBDA = str(Path(sys.executable).with_name("laambda"))

# starts `laambda up` (make test-fast leaves it out)
pytestmark = pytest.mark.slow


def test_a_second_up_on_the_same_data_directory_refuses_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    held = lock_data_dir(data_dir, {"LAAMBDA_API_PORT": 5111, "LAAMBDA_SSH_PORT": 2333})
    try:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("LAAMBDA_", "AWS_"))
        }
        env |= {"LAAMBDA_DATA_DIR": str(data_dir), "HOME": str(tmp_path)}
        started = time.monotonic()
        done = subprocess.run(
            [LAAMBDA, "up"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert time.monotonic() - started < 60
    finally:
        held.close()
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join(done.stderr.split())
    assert f"the data directory {data_dir} is in use by another `laambda up`" in said
    assert f"pid {os.getpid()}" in said
    assert "LAAMBDA_API_PORT 5111" in said
    assert "LAAMBDA_SSH_PORT 2333" in said
    assert "LAAMBDA_DATA_DIR" in said
    assert not (data_dir / "up.json").exists()  # it started nothing
    # once the first one is gone, the directory can be taken again
    lock_data_dir(data_dir, {}).close()


def _parts_with_shared_redis(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, queue: str | None
) -> list[str]:
    """What `up` says about its parts when everything but the Redis is configured."""
    for name, value in {
        "LAAMBDA_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/unused",
        "LAAMBDA_REDIS_URL": "redis://127.0.0.1:6379/0",
        "LAAMBDA_BROKER_URL": "redis://127.0.0.1:6379/0",
        "LAAMBDA_BUILDER": "wheels",
        "LAAMBDA_AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "LAAMBDA_APPLIER": "celery",
        "LAAMBDA_QUEUE": queue or "",
    }.items():
        monkeypatch.setenv(name, value)
    if queue is None:
        monkeypatch.delenv("LAAMBDA_QUEUE")
    with ExitStack() as stack:
        return _bring_parts(stack, data_dir)


def test_up_on_a_shared_redis_uses_its_data_directorys_own_queue(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    said_a = _parts_with_shared_redis(monkeypatch, tmp_path / "a", None)
    queue_a = os.environ["LAAMBDA_QUEUE"]
    said_b = _parts_with_shared_redis(monkeypatch, tmp_path / "b", None)
    queue_b = os.environ["LAAMBDA_QUEUE"]
    assert queue_a != queue_b
    assert queue_a.startswith("laambda-")
    assert queue_a == queue_for(tmp_path / "a")
    assert "queue: Redis at redis://127.0.0.1:6379/0" in said_a
    assert (
        f"queue name: {queue_a} (this data directory's own on a shared Redis; "
        f"set LAAMBDA_QUEUE to choose)"
    ) in said_a
    assert any(queue_b in line for line in said_b)
    # the same directory is the same platform after a restart: its queued builds are taken
    _parts_with_shared_redis(monkeypatch, tmp_path / "a", None)
    assert os.environ["LAAMBDA_QUEUE"] == queue_a
    # the operator's choice stands
    said = _parts_with_shared_redis(monkeypatch, tmp_path / "a", "mine")
    assert os.environ["LAAMBDA_QUEUE"] == "mine"
    assert not [line for line in said if line.startswith("queue name:")]
