"""Build fixtures: source tarballs made like `git archive`, a session-wide store, the engine.

Builds are slow, so the Pillow artifacts are built once per session and shared; tests that
need a fresh cache make their own settings with a fresh data directory.
"""

from __future__ import annotations

import io
import os
import shlex
import socket
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException

from laambda.building.pipeline import BuildResult, build_source
from laambda.config import Settings
from laambda.deploy import aws
from laambda.objectstore import ObjectStore

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "fixtures" / "apps"


def tar_of(files: Mapping[str, str | bytes], path: Path) -> Path:
    """A tarball holding `files` (name -> content), as git archive would make it."""
    with tarfile.open(path, "w") as archive:
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def tar_of_app(app: str, path: Path, *, extra: Mapping[str, str] | None = None) -> Path:
    """A tarball of a fixture app, with `extra` files added or replaced."""
    source = APPS / app
    files: dict[str, str | bytes] = {
        p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*") if p.is_file()
    }
    files.update(extra or {})
    return tar_of(files, path)


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


@dataclass
class Build:
    result: BuildResult
    lines: list[str]
    workdir: Path


BuildFn = Callable[..., Build]


def make_build(settings: Settings, store: ObjectStore | None, base: Path) -> BuildFn:
    """A function that builds a tarball in a fresh workdir and keeps the log lines."""
    counter = iter(range(10_000))

    def build(tarball: Path, *, app_name: str = "thumbs", **kwargs: object) -> Build:
        workdir = base / f"build-{next(counter)}"
        lines: list[str] = []
        result = build_source(
            tarball,
            app_name=app_name,
            workdir=workdir,
            settings=settings,
            store=store,
            log=lines.append,
            **kwargs,  # type: ignore[arg-type]
        )
        return Build(result=result, lines=lines, workdir=workdir)

    return build


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


@dataclass(frozen=True)
class Engine:
    docker_host: str
    image: str  # Python 3.11, pip, zip
    node_image: str  # Node.js, npm


def _engine_from_script() -> Engine:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container-engine.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"no Docker-API engine could be started: {result.stderr.strip()[-500:]}")
    values = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in result.stdout.splitlines()
        if line.startswith("export ")
    )
    os.environ["CONTAINERS_CONF"] = values["CONTAINERS_CONF"]
    return Engine(
        docker_host=values["DOCKER_HOST"],
        image=values["LAAMBDA_TEST_BUILD_IMAGE"],
        node_image=values["LAAMBDA_TEST_NODE_BUILD_IMAGE"],
    )


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """A real Docker-API engine and the Debian build image (scripts/container-engine.sh)."""
    found = _engine_from_script()
    client = docker.DockerClient(base_url=found.docker_host)
    try:
        client.ping()
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


class Listener:
    """A TCP server on loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nreached")
            connection.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.server.close()
