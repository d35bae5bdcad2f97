"""`laambda up` on an empty data directory, then what a new user does in their first minutes:
register a key, create an app, push it with git, see the release — and a restart keeps it; the
server-side commands act on the running platform."""

from __future__ import annotations

import socket
import subprocess

import httpx
import pytest

from tests.support.platform import python_app
from tests.support.up import (
    LAAMBDA,
    Platform,
    push,
    ssh_key,
)

pytestmark = pytest.mark.slow  # `laambda up` in a home of its own: a minute or more


def test_first_minutes_and_a_restart(platform: Platform) -> None:
    printed = platform.start()
    assert "-----> database: embedded PostgreSQL" in printed
    assert "-----> cloud: local (moto's server" in printed
    assert "admin token (shown this once; a copy only you can read is in" in printed
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
    # the same platform, not another `laambda up` (each one starts its database, worker and
    # receiver: 12 CPU-s or more)
    _server_side_commands_act_on_the_running_platform(platform)


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


def _server_side_commands_act_on_the_running_platform(platform: Platform) -> None:
    """`laambda admin create-user` with nothing exported but the data directory reaches up's
    embedded PostgreSQL (not 127.0.0.1:5432) with up's secret key; admins also manage users
    through the API (`laambda users:create`). Stops the platform."""
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
    assert platform.cli("migrate").stdout.startswith("database is up to date (revision ")

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
