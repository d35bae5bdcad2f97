"""`laambda up` on an empty data directory, then what a new user does in their first minutes:
register a key, create an app, push it with git, see the release — and a restart keeps it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.receiver.conftest import commit, git
from tests.worker.conftest import python_app

LAAMBDA = str(Path(sys.executable).with_name("laambda"))
SSH = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Platform:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.api_port, self.ssh_port = _port(), _port()
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("LAAMBDA_", "AWS_", "DOCKER_"))
        }
        self.env = clean | {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "LAAMBDA_DATA_DIR": str(home / "data"),
            "LAAMBDA_API_PORT": str(self.api_port),
            "LAAMBDA_SSH_PORT": str(self.ssh_port),
            "LAAMBDA_QUEUE": f"laambda-e2e-{uuid.uuid4().hex[:8]}",
            "LAAMBDA_BUILDER": "wheels",
        }
        self.process: subprocess.Popen[str] | None = None
        self.log = home / "up.log"

    def start(self) -> str:
        """Start `laambda up` and wait for its API; returns what it printed on the way."""
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            [LAAMBDA, "up"],
            env=self.env,
            cwd=self.home,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
        handle.close()
        offset = self.log.stat().st_size
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.api_port}/health").status_code == 200:
                    return self.log.read_text()[offset - 1 if offset else 0 :]
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError("laambda up did not answer:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        """Ctrl-C, as a user would."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LAAMBDA, *args],
            env=self.env,
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=120,
        )


def ssh_key(platform: Platform) -> Path:
    """A new key, registered with `laambda keys:add`."""
    key = platform.home / ".ssh" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    added = platform.cli("keys:add")
    assert added.returncode == 0, added.stderr
    return key


def push(platform: Platform, key: Path, name: str, files: dict[str, str]) -> str:
    """Create app `name` and git push `files` to it; returns what the push printed."""
    created = platform.cli("apps:create", name)
    assert created.returncode == 0, created.stderr
    repo = platform.home / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, files, "first")
    git(repo, "remote", "add", "laambda", f"ssh://git@127.0.0.1:{platform.ssh_port}/{name}")
    pushed = subprocess.run(
        ["git", "push", "laambda", "main"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env=platform.env | {"GIT_SSH_COMMAND": f"{SSH} -i {key}"},
    )
    assert pushed.returncode == 0, pushed.stderr + platform.log.read_text()[-3000:]
    return pushed.stderr


@pytest.fixture
def platform() -> Iterator[Platform]:
    """A home outside pytest's temporary folder: the embedded PostgreSQL runs as a user of its
    own that must reach its data, and pytest sessions running beside this one (other
    checkouts) make /tmp/pytest-of-<user> private again while it runs."""
    home = Path(tempfile.mkdtemp(prefix="laambda-e2e-"))
    home.chmod(0o755)
    started = Platform(home)
    yield started
    started.stop()
    shutil.rmtree(home, ignore_errors=True)


def test_first_minutes_and_a_restart(platform: Platform) -> None:
    printed = platform.start()
    assert "-----> database: embedded PostgreSQL" in printed
    assert "-----> cloud: local (moto's server" in printed
    assert "admin token (shown once" in printed
    assert "the laambda CLI is logged in as admin@localhost" in printed
    assert f"git remote add laambda ssh://git@127.0.0.1:{platform.ssh_port}/APP" in printed

    key = ssh_key(platform)
    pushed = push(platform, key, "hello", python_app(["web"]))
    assert "remote: -----> Released v1: hello-web" in pushed
    repo = platform.home / "hello"
    releases = platform.cli("releases", cwd=repo)
    assert releases.returncode == 0, releases.stderr
    assert "Deploy" in releases.stdout.splitlines()[1]
    assert releases.stdout.splitlines()[1].startswith("v1")

    platform.stop()
    again = platform.start()
    assert "admin token" not in again
    assert [a for a in platform.cli("apps").stdout.split() if a == "hello"] == ["hello"]
    after = platform.cli("releases", "-a", "hello")
    assert after.stdout.splitlines()[1].startswith("v1"), after.stdout + after.stderr


def test_a_port_in_use_stops_start_up_naming_it(platform: Platform) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", platform.api_port))
        taken.listen()
        started = subprocess.run(
            [LAAMBDA, "up"],
            env=platform.env,
            cwd=platform.home,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert started.returncode == 1
    assert f"127.0.0.1:{platform.api_port} (the API) is in use" in started.stderr
    assert "set LAAMBDA_API_PORT to a free port" in started.stderr
    assert not (platform.home / "data" / "postgres").exists()  # nothing was started


def test_server_side_commands_act_on_the_running_platform(platform: Platform) -> None:
    """`laambda admin create-user` with nothing exported but the data directory reaches up's
    embedded PostgreSQL (not 127.0.0.1:5432) with up's secret key; admins also manage users
    through the API (`laambda users:create`)."""
    platform.start()
    api = f"http://127.0.0.1:{platform.api_port}/v1"
    record = platform.home / "data" / "up.json"
    assert record.stat().st_mode & 0o777 == 0o600
    assert "LAAMBDA_SECRET_KEY" not in record.read_text()  # up's own, in data/secret_key
    assert not any(k in platform.env for k in ("LAAMBDA_SECRET_KEY", "LAAMBDA_DATABASE_URL"))

    created = platform.cli("admin", "create-user", "bob@example.com")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created user bob@example.com\n")
    bob = created.stdout.split("token (shown once): ")[1].strip()
    me = httpx.get(f"{api}/me", headers={"Authorization": f"Bearer {bob}"})
    assert (me.status_code, me.json()["email"]) == (200, "bob@example.com")
    assert platform.cli("migrate").stdout == "database is up to date\n"

    # the CLI is logged in as up's admin
    made = platform.cli("users:create", "carol@example.com", "--admin")
    assert made.returncode == 0, made.stderr
    carol = made.stdout.split("token (shown once): ")[1].strip()
    mine = httpx.get(f"{api}/me", headers={"Authorization": f"Bearer {carol}"})
    assert mine.json() == mine.json() | {"email": "carol@example.com", "is_admin": True}
    listed = platform.cli("users").stdout.splitlines()
    assert "bob@example.com  (user)" in listed
    assert "carol@example.com  (admin)" in listed
    assert platform.cli("users:remove", "bob@example.com").stdout == (
        "Removed user bob@example.com\n"
    )
    gone = httpx.get(f"{api}/me", headers={"Authorization": f"Bearer {bob}"})
    assert gone.status_code == 401

    platform.stop()
    assert not record.exists()
    # with up stopped nothing says where a database is: one line, no traceback
    refused = platform.cli("admin", "create-user", "dan@example.com")
    assert refused.returncode == 2
    assert refused.stderr.startswith("laambda: LAAMBDA_SECRET_KEY is not set")
    assert len(refused.stderr.splitlines()) == 1
