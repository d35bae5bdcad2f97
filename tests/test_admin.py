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
    assert again.stderr.strip() == "laambda: user 'root@example.com' already exists"
