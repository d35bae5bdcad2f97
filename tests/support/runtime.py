"""laambda's local runtime plugged into moto's Invoke for a test (`local_runtime`), with
awslambdaric installed once per session (`runtime_cache`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from laambda.local import moto_lambda
from laambda.local.runtime.pool import LocalRuntime


@pytest.fixture(scope="session")
def runtime_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the session's tests: awslambdaric is installed into it once."""
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture
def local_runtime(
    moto_url: str,  # noqa: ARG001 (the server the functions are invoked through)
    runtime_cache: Path,
) -> Iterator[LocalRuntime]:
    """moto's Invoke runs functions with laambda's runtime for this test."""
    runtime = moto_lambda.install(runtime_cache)
    yield runtime
    moto_lambda.uninstall()
