"""Build fixtures: source tarballs made like `git archive`, a session-wide store, the engine.

Builds are slow, so the Pillow artifacts are built once per session and shared; tests that
need a fresh cache make their own settings with a fresh data directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from docker.errors import DockerException

from laambda.config import Settings
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from tests.support.build import BuildFn, Engine, Listener, engine_from_script, make_build


@pytest.fixture(scope="session")
def session_settings(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        aws_endpoint_url=moto_url,
        data_dir=tmp_path_factory.mktemp("build-data"),
        artifact_bucket=f"laambda-build-{os.urandom(4).hex()}",
    )


@pytest.fixture(scope="session")
def session_store(session_settings: Settings) -> ObjectStore:
    store = ObjectStore(aws.s3_client(session_settings), session_settings.artifact_bucket)
    store.ensure_bucket()
    return store


@pytest.fixture
def build(settings: Settings, object_store: ObjectStore, tmp_path: Path) -> BuildFn:
    """Build with the wheel builder, a fresh data directory and a fresh bucket."""
    return make_build(settings, object_store, tmp_path / "builds")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """A real Docker-API engine and the Debian build image (scripts/container-engine.sh)."""
    found = engine_from_script()
    client = found.client()
    try:
        client.ping()
        found = replace(found, api_version=client.api.api_version)
    except DockerException as exc:
        pytest.skip(f"the Docker-API engine at {found.docker_host} does not answer: {exc}")
    finally:
        client.close()
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = found.docker_host
    yield found
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous


# values a worker's environment holds, which no build may see
SECRETS = {
    "LAAMBDA_SECRET_KEY": "sandbox-test-secret-key-0123456789abcdef",
    "LAAMBDA_DATABASE_URL": "postgresql+psycopg://laambda:db-password-4f1e9@127.0.0.1/laambda",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key-7d3c0b",
    "AWS_SESSION_TOKEN": "aws-session-token-91ab2e",
    "PIP_INDEX_URL": "https://user:pip-index-password-5e@127.0.0.1/simple",
    "UV_INDEX_URL": "https://user:uv-index-password-8c@127.0.0.1/simple",
}


@pytest.fixture
def worker_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The worker's environment holds secrets, as a real worker's does."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.server.close()
