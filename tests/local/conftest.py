"""The local runtime plugged into the session's moto server, and apps whose functions are live
there with real code (a Python app and a Node.js app)."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.local.runtime.pool import LocalRuntime
from tests.support.cli import Cli, cli
from tests.support.local import (
    NODE_CODE,
    NODE_FUNCTIONS,
    PYTHON_CODE,
    PYTHON_FUNCTIONS,
    LiveApp,
    release,
)

__all__ = ["cli"]


@pytest.fixture
def python_app(
    cli: Cli,
    tmp_path: Path,
    local_runtime: LocalRuntime,  # noqa: ARG001 (functions run only with it)
) -> LiveApp:
    return release(
        cli,
        tmp_path,
        runtime="python3.12",
        code=PYTHON_CODE,
        functions=PYTHON_FUNCTIONS,
        environment={"GREETING": "hej"},
    )


@pytest.fixture
def node_app(
    cli: Cli,
    tmp_path: Path,
    local_runtime: LocalRuntime,  # noqa: ARG001 (functions run only with it)
) -> LiveApp:
    return release(
        cli,
        tmp_path,
        runtime="nodejs20.x",
        code=NODE_CODE,
        functions=NODE_FUNCTIONS,
        environment={},
    )
