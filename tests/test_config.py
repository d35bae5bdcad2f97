"""Settings: from LAAMBDA_* variables; a bad one stops the server with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from laambda.config import load_settings
from laambda.errors import SettingsError

LAAMBDA = str(Path(sys.executable).with_name("laambda"))


def _run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAAMBDA_")}
    return subprocess.run(
        [LAAMBDA, "api"], env=clean | env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow  # a `laambda api` subprocess
def test_missing_secret_key_stops_the_server_naming_it(tmp_path: Path) -> None:
    result = _run({}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("laambda: LAAMBDA_SECRET_KEY is not set")


@pytest.mark.slow  # a `laambda api` subprocess
def test_malformed_setting_is_named(tmp_path: Path) -> None:
    result = _run({"LAAMBDA_SECRET_KEY": "k" * 40, "LAAMBDA_API_PORT": "http"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "laambda: LAAMBDA_API_PORT is malformed: Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_settings_come_from_environment_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("LAAMBDA_ARTIFACT_BUCKET=from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAAMBDA_AWS_REGION", "eu-west-1")
    settings = load_settings()
    assert (settings.aws_region, settings.artifact_bucket) == ("eu-west-1", "from-dotenv")


def test_role_must_be_an_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAAMBDA_DEFAULT_ROLE", "lambda-basic")
    with pytest.raises(SettingsError, match="LAAMBDA_DEFAULT_ROLE is malformed"):
        load_settings()
