"""Which builder one machine can use (laambda/local/engine.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.local.engine import docker_answers


def test_no_engine_at_docker_host_answers_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nothing.sock'}")
    assert docker_answers() is False
