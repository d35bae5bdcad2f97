"""The production layout runs: docker-compose.yml brought up under podman-compose (PostgreSQL,
Redis, API, worker, receiver, from images made on this machine), with moto's server as AWS;
then a `git push` over ssh to the compose receiver releases an app, and the function is in moto
with its dependency, installed by the Docker builder in the build image through engine volumes
(the worker holds the engine's socket, as docker-compose.yml mounts it).

Images come from scripts/container-engine.sh (the engine) and tests/compose/images.sh (the
bases and laambda's image of scripts/compose-images.sh, and moto's); they cache what they made,
so a second run (or this one, after `make test` started them early) reuses every image.
Outside CI the test skips, saying why, when no engine can start; on CI (CI set) it must run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from laambda.building.builders.engine_volumes import CACHE_LABEL

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SSH = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
ROLE = "arn:aws:iam::123456789012:role/laambda-compose"
APP = "hello"  # the app the test pushes
HANDLER = 'def handler(event, context):\n    return {"statusCode": 200, "body": "hi"}\n'

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _exports(script: Path, env: dict[str, str], timeout: float) -> dict[str, str]:
    """Run a script that prints `export NAME=value` lines; returns them (stderr on failure)."""
    done = subprocess.run(
        ["bash", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{done.stderr[-3000:]}")
    found = {}
    for line in done.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        found[name] = value
    return found


@dataclass
class Compose:
    project: str
    env: dict[str, str]
    home: Path
    api_port: int
    ssh_port: int
    moto_port: int

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [
            str(BIN / "podman-compose"), "-p", self.project,
            "-f", str(ROOT / "docker-compose.yml"), "-f", str(HERE / "moto.yml"), *args,
        ]  # fmt: skip
        return subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def check(self, *args: str, timeout: float = 300) -> str:
        done = self.run(*args, timeout=timeout)
        assert done.returncode == 0, f"podman-compose {shlex.join(args)}:\n{done.stderr[-3000:]}"
        return done.stdout

    def logs(self) -> str:
        return self.run("logs", timeout=60).stdout[-6000:]

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "laambda"), *args],
            env=self.env,
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _wait(what: str, ready: Callable[[], bool], compose: Compose, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(1)
    raise AssertionError(f"{what} not ready within {seconds:.0f} s:\n{compose.logs()}")


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compose]:
    if shutil.which("podman-compose", path=str(BIN)) is None:
        pytest.fail("podman-compose is not installed in the venv (make venv)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAAMBDA_", "AWS_"))}
    try:
        engine = _exports(ROOT / "scripts" / "container-engine.sh", base, timeout=900)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no container engine can start here: {exc}")
    env = base | engine
    env |= _exports(HERE / "images.sh", env, timeout=1200)
    project = f"laambda-test-{uuid.uuid4().hex[:8]}"

    home = tmp_path_factory.mktemp("compose")
    api_port, ssh_port, moto_port = _port(), _port(), _port()
    settings = home / "compose.env"
    settings.write_text(
        f"LAAMBDA_SECRET_KEY={uuid.uuid4().hex}{uuid.uuid4().hex}\n"
        "LAAMBDA_AWS_ENDPOINT_URL=http://moto:5000\n"
        "LAAMBDA_AWS_REGION=us-east-1\n"
        f"LAAMBDA_DEFAULT_ROLE={ROLE}\n"
        f'LAAMBDA_BUILD_IMAGES={{"python3.11": "{engine["LAAMBDA_TEST_BUILD_IMAGE"]}"}}\n'
    )
    env |= {
        # docker-compose.yml passes AWS credentials from compose's environment
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LAAMBDA_ENV_FILE": str(settings),
        "LAAMBDA_API_PUBLISH": f"127.0.0.1:{api_port}",
        "LAAMBDA_SSH_PUBLISH": f"127.0.0.1:{ssh_port}",
        "LAAMBDA_MOTO_PUBLISH": f"127.0.0.1:{moto_port}",
        "LAAMBDA_API_URL": f"http://127.0.0.1:{api_port}",
        # the worker builds in this engine, through its socket
        "LAAMBDA_DOCKER_SOCKET": engine["DOCKER_HOST"].removeprefix("unix://"),
        "LAAMBDA_BUILD_SOCKET_VOLUME": f"{project}-egress",
    }
    running = Compose(project, env, home, api_port, ssh_port, moto_port)
    caches = _cache_volumes(env)
    try:
        yield running
    finally:
        running.run("down", "-v", "-t", "5", timeout=300)
        # the worker's download caches, which compose does not know: only those of this test's
        # app, and without force (which would remove the containers of a build using one: the
        # Docker builder's tests share the engine and may be building meanwhile)
        made = sorted(
            name
            for name, key in _cache_volumes(env).items()
            if name not in caches and key.endswith(f" {APP}")
        )
        if made:
            subprocess.run(
                ["podman", "volume", "rm", *made], env=env, capture_output=True, timeout=60
            )


def _cache_volumes(env: dict[str, str]) -> dict[str, str]:
    """The engine's download cache volumes: name -> cache key (image, platform and app)."""
    listed = subprocess.run(
        ["podman", "volume", "ls", "--filter", f"label={CACHE_LABEL}", "--format", "json"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return {v["Name"]: v["Labels"][CACHE_LABEL] for v in json.loads(listed.stdout or "[]")}


@functools.cache
def _http() -> httpx.Client:
    """One client for every poll: a new one loads the CA bundle (tens of ms of CPU)."""
    return httpx.Client(timeout=2)


def _answers(url: str) -> bool:
    try:
        return _http().get(url).status_code == 200
    except httpx.TransportError:
        return False


def test_a_push_through_the_compose_layout_releases_the_app(compose: Compose) -> None:
    started = time.monotonic()
    # podman 4.3 cannot wait for health checks (podman-compose ignores `service_healthy`
    # there), so the shared parts come first and the test waits for them itself
    compose.check("up", "-d", "--no-build", "postgres", "redis", "moto")

    def postgres_ready() -> bool:
        ready = compose.run("exec", "-T", "postgres", "pg_isready", "-h", "127.0.0.1", timeout=30)
        return ready.returncode == 0

    _wait("postgres", postgres_ready, compose, 120)
    _wait("moto", lambda: _answers(f"http://127.0.0.1:{compose.moto_port}/moto-api/"), compose, 60)
    aws = {
        "endpoint_url": f"http://127.0.0.1:{compose.moto_port}",
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    boto3.client("iam", **aws).create_role(  # type: ignore[call-overload]
        RoleName="laambda-compose", AssumeRolePolicyDocument="{}"
    )
    boto3.client("s3", **aws).create_bucket(Bucket="laambda-artifacts")  # type: ignore[call-overload]

    compose.check("up", "-d", "--no-build")
    health = f"http://127.0.0.1:{compose.api_port}/health"
    _wait("the API's /health", lambda: _answers(health), compose, 180)

    created = compose.check(
        "exec", "-T", "api", "laambda", "admin", "create-user", "ops@example.com", "--admin"
    )
    token = created.split("token (shown once):")[1].split()[0]
    compose.env["LAAMBDA_API_TOKEN"] = token
    key = compose.home / ".ssh" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    added = compose.cli("keys:add")
    assert added.returncode == 0, added.stderr
    made = compose.cli("apps:create", APP)
    assert made.returncode == 0, made.stderr

    repo = compose.home / APP
    repo.mkdir()
    git_env = compose.env | {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_SSH_COMMAND": f"{SSH} -i {key}",
    }  # fmt: skip
    files = {
        "Procfile": "web: web_mod.handler\n",
        "web_mod.py": HANDLER,
        "requirements.txt": "six==1.17.0\n",
        ".python-version": "3.11\n",
    }
    for name, text in files.items():
        (repo / name).write_text(text)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "first"],
        ["remote", "add", "laambda", f"ssh://git@127.0.0.1:{compose.ssh_port}/{APP}"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=git_env, check=True, timeout=30)
    pushed = subprocess.run(
        ["git", "push", "laambda", "main"],
        cwd=repo,
        env=git_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pushed.returncode == 0, pushed.stderr + compose.logs()
    assert f"remote: -----> Released v1: {APP}-web" in pushed.stderr
    image = compose.env["LAAMBDA_TEST_BUILD_IMAGE"]
    assert f"remote: -----> Installing in {image} (linux/amd64)" in pushed.stderr
    assert "remote:        Successfully installed six-1.17.0" in pushed.stderr

    lam = boto3.client("lambda", **aws)  # type: ignore[call-overload]
    live = lam.get_alias(FunctionName=f"{APP}-web", Name="live")
    assert live["FunctionVersion"] != "$LATEST"
    assert {"six.py", "web_mod.py"} <= set(_code_names(lam, aws, f"{APP}-web"))
    releases = compose.cli("releases", "-a", APP)
    assert releases.returncode == 0, releases.stderr
    assert releases.stdout.splitlines()[1].startswith("v1"), releases.stdout
    took = time.monotonic() - started
    sys.stderr.write(f"compose test: {took:.0f} s from `up` to a released push\n")


def _code_names(lam: Any, aws: dict[str, str], function: str) -> list[str]:
    """The files of the function's code in moto: the artifact in the bucket whose sha256 is
    the function's CodeSha256 (Lambda's: the base64 of the digest)."""
    sha = lam.get_function(FunctionName=function)["Configuration"]["CodeSha256"]
    s3 = boto3.client("s3", **aws)  # type: ignore[call-overload]
    for entry in s3.list_objects_v2(Bucket="laambda-artifacts").get("Contents", []):
        body = s3.get_object(Bucket="laambda-artifacts", Key=entry["Key"])["Body"].read()
        if base64.b64encode(hashlib.sha256(body).digest()).decode() == sha:
            return zipfile.ZipFile(io.BytesIO(body)).namelist()
    raise AssertionError(f"no object in laambda-artifacts has the function's code ({sha})")
