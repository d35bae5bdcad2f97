"""`laambda admin create-user EMAIL --admin` makes the first admin and prints the token once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from laambda.api.app import create_app
from laambda.config import Settings

pytestmark = pytest.mark.slow  # `laambda` run as a program, a few times per test

LAAMBDA = str(Path(sys.executable).with_name("laambda"))


@pytest.mark.usefixtures("committed_sessions")
def test_create_admin_prints_a_working_token(database_url: str, tmp_path: Path) -> None:
    env = os.environ | {"LAAMBDA_DATABASE_URL": database_url}
    result = subprocess.run(
        [LAAMBDA, "admin", "create-user", "root@example.com", "--admin"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "created admin root@example.com"
    token = lines[1].removeprefix("token (shown once): ")
    with TestClient(create_app(Settings(database_url=database_url, applier="inline"))) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["is_admin"] is True
    again = subprocess.run(
        [LAAMBDA, "admin", "create-user", "root@example.com"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        "laambda: user 'root@example.com' already exists",
        "a new token for them: laambda admin create-token root@example.com",
    ]


def _laambda(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAAMBDA, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.usefixtures("committed_sessions")
def test_the_only_admin_revoking_their_token_is_warned_and_can_get_back_in(
    database_url: str, tmp_path: Path
) -> None:
    env = os.environ | {"LAAMBDA_DATABASE_URL": database_url}
    made = _laambda(env, tmp_path, "admin", "create-user", "root@example.com", "--admin")
    token = made.stdout.splitlines()[1].removeprefix("token (shown once): ")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(Settings(database_url=database_url, applier="inline"))) as client:
        (row,) = client.get("/v1/tokens", headers=auth).json()
        refused = client.delete(f"/v1/tokens/{row['id']}", headers=auth)
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            f"token {row['id']} 'first token' ({token[:8]}…) is the one this request is signed "
            "with: revoking it signs you out, and you have no other token: only an admin "
            "(`laambda users:create`) or `laambda admin create-token EMAIL` on the server can "
            "give you one; to revoke it anyway pass ?current=true (`laambda tokens:revoke` "
            "asks first)"
        )
        assert client.get("/v1/me", headers=auth).status_code == 200
        revoked = client.delete(f"/v1/tokens/{row['id']}?current=true", headers=auth)
        assert revoked.status_code == 204
        assert client.get("/v1/me", headers=auth).status_code == 401

        back = _laambda(env, tmp_path, "admin", "create-token", "root@example.com", "--name", "k")
        assert back.returncode == 0, back.stderr
        said, shown = back.stdout.splitlines()
        new = shown.removeprefix("token (shown once): ")
        assert said == f"created token 'k' ({new[:8]}…) for root@example.com"
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {new}"})
        assert me.json()["is_admin"] is True

    nobody = _laambda(env, tmp_path, "admin", "create-token", "who@example.com")
    assert nobody.returncode == 1
    assert nobody.stderr.strip() == "laambda: user 'who@example.com' does not exist"
