"""`laambda up`'s local cloud gives apps that name no version the newest Lambda runtime this
machine can run, so their functions run here (issue 13)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from laambda.config import load_settings
from laambda.local.runtime.interpreters import find_node, find_python, launch
from laambda.up import local_runtime_defaults

TODAY = date(2026, 11, 30)


def test_new_apps_get_a_runtime_the_machine_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, runtime_cache: Path
) -> None:
    monkeypatch.delenv("LAAMBDA_DEFAULT_PYTHON_RUNTIME", raising=False)
    monkeypatch.setenv("LAAMBDA_DEFAULT_NODE_RUNTIME", "nodejs22.x")  # the operator's choice
    said = local_runtime_defaults(TODAY)
    chosen = load_settings().default_python_runtime
    assert chosen is not None
    assert chosen != "python3.14"  # Lambda's newest, which this machine lacks
    assert find_python(chosen.removeprefix("python")) is not None
    assert f"new python apps: {chosen} (the newest this machine runs)" in said
    newer = [f"3.{minor}" for minor in range(int(chosen.split(".")[1]) + 1, 15)]
    assert not [version for version in newer if find_python(version)]  # the newest it has
    launch(chosen, "main.handler", tmp_path, runtime_cache, boxed=True)  # does not raise
    assert load_settings().default_node_runtime == "nodejs22.x"
    assert not any(line.startswith("new node apps") for line in said)


def test_node_default_is_the_machines_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAAMBDA_DEFAULT_NODE_RUNTIME", raising=False)
    monkeypatch.setenv("LAAMBDA_DEFAULT_PYTHON_RUNTIME", "python3.12")
    local_runtime_defaults(TODAY)
    chosen = load_settings().default_node_runtime
    if chosen is None:
        pytest.skip("no node of a Lambda runtime on this machine")
    assert find_node(chosen.removeprefix("nodejs").removesuffix(".x")) is not None
