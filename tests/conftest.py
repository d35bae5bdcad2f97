"""Shared fixtures: settings for tests, moto's server over HTTP as AWS, the object store.

Database fixtures live in tests/db_fixtures.py (a fresh PostgreSQL database per test session).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

os.environ.setdefault("LAAMBDA_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)

from laambda.config import Settings, settings_env  # noqa: E402
from laambda.deploy import aws  # noqa: E402
from laambda.local import moto_versions  # noqa: E402
from laambda.objectstore import ObjectStore  # noqa: E402
from laambda.worker.enqueue import CeleryQueue  # noqa: E402

pytest_plugins = ["tests.db_fixtures"]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on a loopback port: the AWS every test talks to over HTTP."""
    moto_versions.install()  # moto reuses version numbers after pruning; AWS never does
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def settings(moto_url: str, tmp_path: Path) -> Settings:
    return Settings(
        aws_endpoint_url=moto_url,
        data_dir=tmp_path / "data",
        artifact_bucket=f"laambda-test-{os.urandom(4).hex()}",
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
    )


@pytest.fixture
def object_store(settings: Settings) -> ObjectStore:
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    return store


class LiveWorker:
    """A real `laambda worker` process (Celery, prefork) on the real Redis, moto and the test
    database. Tests send it work with `queue` and may kill its pool child mid-task."""

    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        process: subprocess.Popen[str],
        output: list[str],
    ) -> None:
        self.settings = settings
        self.env = env
        self.process = process
        self.output = output
        self.queue = CeleryQueue(settings)

    def tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _start_worker(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "laambda.worker.main"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90):
        process.kill()
        raise RuntimeError("the worker did not start:\n" + "".join(output[-40:]))
    return process, output


@pytest.fixture(scope="session")
def live_worker(
    database_url: str, moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveWorker]:
    settings = Settings(
        database_url=database_url,
        aws_endpoint_url=moto_url,
        artifact_bucket="laambda-e2e",
        data_dir=tmp_path_factory.mktemp("worker-data"),
        queue=f"laambda-test-{uuid.uuid4().hex[:8]}",
        builder="wheels",
        applier="celery",
        sweep_interval=3600,
        recovery_interval=3600,  # tests that want the recovery sweep start their own worker
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
    )
    env = dict(os.environ) | settings_env(settings)
    process, output = _start_worker(env)
    worker = LiveWorker(settings, env, process, output)
    yield worker
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
