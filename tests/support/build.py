"""Build helpers: source tarballs made like `git archive`, a builder that keeps the log lines,
the Docker-API engine of scripts/container-engine.sh, and reading artifacts (distributions,
handlers run under the runtime's interpreter)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from laambda.building.pipeline import BuildResult, build_source
from laambda.config import Settings
from laambda.objectstore import ObjectStore
from tests.support.archives import tar_of

ROOT = Path(__file__).resolve().parents[2]


APPS = ROOT / "tests" / "fixtures" / "apps"


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


@dataclass(frozen=True)
class Engine:
    docker_host: str
    image: str  # Python 3.11, pip, zip
    node_image: str  # Node.js, npm
    api_version: str = "auto"  # the engine's answer, once asked (the `engine` fixture)

    def client(self) -> docker.DockerClient:
        """A client of the engine at its API version: a client made with "auto" asks the engine
        first, and podman's answer to GET /version costs a tenth of a second of CPU."""
        return docker.DockerClient(base_url=self.docker_host, version=self.api_version)


def engine_from_script() -> Engine:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container-engine.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        why = f"no Docker-API engine could be started: {result.stderr.strip()[-500:]}"
        if os.environ.get("CI"):  # on CI it must work
            pytest.fail(why)
        pytest.skip(why)
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


PYENV = Path("/root/.pyenv/versions")


def interpreter(runtime: str) -> Path:
    """The machine's CPython of a runtime's version (python3.12 -> pyenv's 3.12.x)."""
    version = runtime.removeprefix("python")
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} on this machine to import the handler with")
    return found[-1]


def dist_name(info_dir: str) -> str:
    """'charset_normalizer-3.5.3.dist-info' -> 'charset-normalizer'."""
    return info_dir.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-")


def distributions(build: Build) -> set[str]:
    """Canonical names of the distributions installed in the artifact."""
    names = zip_names(build.result.artifact_path)
    return {
        dist_name(n.split("/", 1)[0])
        for n in names
        if n.split("/", 1)[0].endswith(".dist-info") and n.endswith("/METADATA")
    }


def run_handler(build: Build, tmp_path: Path, handler: str, event: dict[str, object]) -> object:
    """Call the handler in a fresh interpreter of the runtime's version, with only the unpacked
    artifact on PYTHONPATH (no site-packages)."""
    root = tmp_path / "unpacked"
    with zipfile.ZipFile(build.result.artifact_path) as archive:
        archive.extractall(root)
    module, function = handler.rsplit(".", 1)
    code = (
        "import json, sys\n"
        f"import {module}\n"
        f"assert {module}.__file__.startswith(sys.argv[1]), {module}.__file__\n"
        f"print(json.dumps({module}.{function}(json.loads(sys.argv[2]), None)))"
    )
    env = {"PYTHONPATH": str(root), "PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"}
    out = subprocess.run(
        [str(interpreter(build.result.runtime)), "-S", "-c", code, str(root), json.dumps(event)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


SETUPTOOLS = (
    '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
)


LOCAL_APP = {
    ".python-version": "3.12\n",
    "Procfile": "web: handler.main\n",
    "handler.py": (
        "import common\nimport mypkg\n\n\n"
        "def main(event, context):\n    return {'pkg': mypkg.NAME, 'common': common.VALUE}\n"
    ),
    "pyproject.toml": (
        '[project]\nname = "mypkg"\nversion = "1.0"\ndependencies = ["humanize"]\n' + SETUPTOOLS
    ),
    "src/mypkg/__init__.py": "NAME = 'from the pushed tree'\n",
    "libs/common/pyproject.toml": '[project]\nname = "common"\nversion = "2.0"\n' + SETUPTOOLS,
    "libs/common/common/__init__.py": "VALUE = 1\n",
    "requirements.txt": "-c constraints.txt\n-e .\n./libs/common\n",
    "constraints.txt": "humanize<4.10\n",
}
