"""Lambda's control plane throttles at about 15 requests a second: deploys must ride it out."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from laambda.deploy.lambda_ import Deployer, FunctionSpec
from tests.support.deploy import Artifact, injected_error

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Spec = Callable[..., FunctionSpec]
MakeArtifact = Callable[..., Artifact]


class Throttle:
    def __init__(self) -> None:
        self.injected: Counter[str] = Counter()
        self.on = True


@pytest.fixture
def throttled(lambda_client: LambdaClient) -> Iterator[Throttle]:
    """Refuse about a third of all Lambda calls: throttled, or busy with an update.

    The hook answers before botocore sends anything, so botocore's own retries never see
    these errors: only the deployer's backoff stands between them and a failed deploy.
    """
    chance = random.Random(4)
    lock = threading.Lock()
    throttle = Throttle()
    injected = throttle.injected

    def refuse(model: Any, **_: Any) -> Any:
        with lock:
            roll = chance.random()
        if not throttle.on:
            return None
        if roll < 0.25:
            injected["TooManyRequestsException"] += 1
            return injected_error("TooManyRequestsException", "Rate exceeded", 429)
        if roll < 0.35 and model.name.startswith(("Update", "Publish")):
            injected["ResourceConflictException"] += 1
            return injected_error(
                "ResourceConflictException",
                "The operation cannot be performed at this time. An update is in progress.",
                409,
            )
        return None

    lambda_client.meta.events.register("before-call.lambda.*", refuse)
    yield throttle
    lambda_client.meta.events.unregister("before-call.lambda.*", refuse)


class TestThrottling:
    def test_deploy_redeploy_and_rollback_complete_under_throttling(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        throttled: Throttle,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        specs = [spec(f"fn{i}") for i in range(6)]

        v1 = deployer.deploy(app, specs, artifact=old.path, sha256=old.sha256, description="D")
        v2 = deployer.deploy(app, specs, artifact=new.path, sha256=new.sha256, description="D")
        back = deployer.rollback(
            app, specs, targets=v1.versions, sha256=old.sha256, description="R"
        )
        throttled.on = False  # read back undisturbed

        assert throttled.injected["TooManyRequestsException"] > 20
        assert throttled.injected["ResourceConflictException"] > 0
        assert v2.code_updates == 6
        assert back.versions == v1.versions
        for name, version in v1.versions.items():
            alias = lambda_client.get_alias(FunctionName=name, Name="live")
            assert alias["FunctionVersion"] == version
            config = lambda_client.get_function(FunctionName=name, Qualifier="live")
            assert config["Configuration"]["CodeSha256"] == old.lambda_sha
