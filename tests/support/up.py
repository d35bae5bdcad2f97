"""`laambda up` run as a user runs it, in a home of its own: starting and stopping it, the CLI
against it, a registered key and a git push (`platform` fixture of tests/e2e)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli_zygote import zygote
from tests.support.net import free_port
from tests.support.receiver import commit, git

LAAMBDA = str(Path(sys.executable).with_name("laambda"))


SSH = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


class Platform:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.api_port, self.ssh_port = free_port(), free_port()
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("LAAMBDA_", "AWS_", "DOCKER_"))
        }
        self.env = (
            clean
            | {
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "LAAMBDA_DATA_DIR": str(home / "data"),
                "LAAMBDA_API_PORT": str(self.api_port),
                "LAAMBDA_SSH_PORT": str(self.ssh_port),
                "LAAMBDA_FUNCTION_URL_PORT": str(
                    free_port()
                ),  # not 5050: sessions run side by side
                "LAAMBDA_QUEUE": f"laambda-e2e-{uuid.uuid4().hex[:8]}",
                "LAAMBDA_BUILDER": "wheels",
            }
        )
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
        # one client for every try: each new one loads the CA bundle (tens of ms of CPU)
        with httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}") as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if http.get("/health").status_code == 200:
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
        """Run `laambda ARGS` against this platform (forked from the CLI's zygote)."""
        return zygote().run(list(args), env=self.env, cwd=cwd or self.home, stdin=None, timeout=120)


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
