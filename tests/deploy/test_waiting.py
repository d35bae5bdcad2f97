"""Waiting for Lambda to apply a change, as AWS makes us: moto applies them at once.

Hooks make moto's answers look like AWS's (State Pending after a create, LastUpdateStatus
InProgress after an update, for the first poll too), so the waiters really wait.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.errors import DeployFailed
from tests.support.deploy import Artifact, injected_error

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Spec = Callable[..., FunctionSpec]
MakeArtifact = Callable[..., Artifact]


class SlowLambda:
    """Reports every change as still in progress to the first poll after it."""

    def __init__(self) -> None:
        self.polls: Counter[str] = Counter()
        self.pending: dict[str, int] = {}  # function name -> polls since its change
        self.lock = threading.Lock()

    def changed(self, parsed: dict[str, Any], **_: Any) -> None:
        if "FunctionName" not in parsed:
            return
        with self.lock:
            self.pending[parsed["FunctionName"]] = 0
        if "LastUpdateStatus" in parsed:
            parsed["LastUpdateStatus"] = "InProgress"
        else:
            parsed["State"] = "Pending"

    def polled(self, parsed: dict[str, Any], **_: Any) -> None:
        config = parsed.get("Configuration", {})
        name = config.get("FunctionName")
        with self.lock:
            if name not in self.pending:
                return
            self.polls[name] += 1
            self.pending[name] += 1
            if self.pending[name] == 1:  # the first poll still sees it in progress
                config["State"], config["LastUpdateStatus"] = "Pending", "InProgress"
                return
            del self.pending[name]


@pytest.fixture
def slow(lambda_client: LambdaClient) -> SlowLambda:
    slow = SlowLambda()
    events = lambda_client.meta.events
    for operation in ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration"):
        events.register(f"after-call.lambda.{operation}", slow.changed)
    events.register("after-call.lambda.GetFunction", slow.polled)
    return slow


class TestWaiting:
    def test_creates_and_updates_are_waited_for(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        slow: SlowLambda,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        deployer.deploy(
            app, [spec("a"), spec("b")], artifact=old.path, sha256=old.sha256, description="D"
        )
        assert slow.polls == {f"{app}-a": 2, f"{app}-b": 2}  # function_active_v2

        changed = [spec("a", memory=512), spec("b", memory=512)]
        outcome = deployer.deploy(
            app, changed, artifact=new.path, sha256=new.sha256, description="D"
        )

        # function_updated_v2 after the code and after the configuration
        assert slow.polls == {f"{app}-a": 6, f"{app}-b": 6}
        assert (outcome.code_updates, outcome.config_updates) == (2, 2)
        live = lambda_client.get_function(FunctionName=f"{app}-a", Qualifier="live")
        assert live["Configuration"]["MemorySize"] == 512

    def test_a_failed_update_fails_the_deploy_with_lambdas_reason(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        first = deployer.deploy(
            app, [spec("a")], artifact=old.path, sha256=old.sha256, description="D"
        )

        def in_progress(parsed: dict[str, Any], **_: Any) -> None:
            parsed["LastUpdateStatus"] = "InProgress"

        def failed(parsed: dict[str, Any], **_: Any) -> None:
            parsed["Configuration"]["LastUpdateStatus"] = "Failed"
            parsed["Configuration"]["LastUpdateStatusReason"] = "Unzipped size must be smaller"

        events = lambda_client.meta.events
        events.register("after-call.lambda.UpdateFunctionCode", in_progress)
        events.register("after-call.lambda.GetFunction", failed)
        try:
            with pytest.raises(DeployFailed, match="a: Unzipped size must be smaller"):
                deployer.deploy(
                    app, [spec("a")], artifact=new.path, sha256=new.sha256, description="D"
                )
        finally:
            events.unregister("after-call.lambda.UpdateFunctionCode", in_progress)
            events.unregister("after-call.lambda.GetFunction", failed)

        alias = lambda_client.get_alias(FunctionName=f"{app}-a", Name="live")
        assert alias["FunctionVersion"] == first.versions[f"{app}-a"]

    def test_a_throttled_poll_does_not_end_the_wait(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        slow: SlowLambda,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        refused: list[str] = []

        def throttle_first_poll(params: dict[str, Any], **_: Any) -> Any:
            if not refused and params["url_path"].endswith(f"/functions/{app}-a"):
                if slow.pending:  # only once the function is being waited for
                    refused.append(params["url_path"])
                    return injected_error("TooManyRequestsException", "Rate exceeded", 429)
            return None

        lambda_client.meta.events.register("before-call.lambda.GetFunction", throttle_first_poll)
        try:
            outcome = deployer.deploy(
                app, [spec("a")], artifact=artifact.path, sha256=artifact.sha256, description="D"
            )
        finally:
            lambda_client.meta.events.unregister(
                "before-call.lambda.GetFunction", throttle_first_poll
            )

        assert refused
        alias = lambda_client.get_alias(FunctionName=f"{app}-a", Name="live")
        assert alias["FunctionVersion"] == outcome.versions[f"{app}-a"]
