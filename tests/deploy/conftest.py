"""Deploy fixtures: an IAM role moto's Lambda accepts, artifacts, a Deployer on moto's server.

moto's server is shared by the whole session, so every test deploys apps of its own name.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.calls import Backoff
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.local import moto_versions
from laambda.objectstore import ObjectStore
from tests.support.aws import ROLE, ensure_role
from tests.support.deploy import Artifact

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


moto_versions.install()


@pytest.fixture
def role(settings: Settings) -> str:
    """moto's Lambda refuses a role IAM does not know, as AWS does."""
    ensure_role(settings)
    return ROLE


@pytest.fixture
def lambda_client(settings: Settings) -> LambdaClient:
    return aws.lambda_client(settings)


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def deployer(
    lambda_client: LambdaClient, object_store: ObjectStore, settings: Settings, log: list[str]
) -> Deployer:
    return Deployer(
        lambda_client,
        object_store,
        concurrency=settings.deploy_concurrency,
        log=log.append,
        backoff=Backoff(attempts=10, base=0.01, cap=0.2),
    )


@pytest.fixture
def app() -> str:
    return f"app{os.urandom(3).hex()}"


@pytest.fixture
def make_artifact(tmp_path: Path) -> Callable[[str], Artifact]:
    """A tiny Lambda zip whose handler returns `greeting`; different greetings, different shas."""

    def make(greeting: str = "hello") -> Artifact:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo("main.py", date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, f"def handler(event, context):\n    return {greeting!r}\n")
        data = buffer.getvalue()
        sha256 = hashlib.sha256(data).hexdigest()
        path = tmp_path / f"{sha256}.zip"
        path.write_bytes(data)
        return Artifact(path, sha256)

    return make


@pytest.fixture
def spec(role: str) -> Callable[..., FunctionSpec]:
    base = FunctionSpec(
        name="web",
        handler="main.handler",
        runtime="python3.12",
        architecture="x86_64",
        role=role,
        memory=1024,
        timeout=10,
        environment={"BUCKET": "photos"},
    )

    def make(name: str, **changes: Any) -> FunctionSpec:
        return replace(base, name=name, **changes)

    return make
