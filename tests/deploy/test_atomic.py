"""A deploy that fails anywhere leaves every `live` alias where it was."""

from __future__ import annotations

import time
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


def aliases(client: LambdaClient, names: list[str]) -> dict[str, str]:
    return {
        name: client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] for name in names
    }


def exists(client: LambdaClient, name: str) -> bool:
    try:
        client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


class TestHalfwayFailure:
    def test_a_failed_alias_move_moves_the_others_back(
        self,
        deployer: Deployer,
        log: list[str],
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        entries = ["a", "b", "c", "d", "e"]
        v1 = deployer.deploy(
            app, [spec(e) for e in entries], artifact=old.path, sha256=old.sha256, description="D"
        )
        before = aliases(lambda_client, list(v1.versions))

        def refuse(params: dict[str, Any], **_: Any) -> Any:
            # one alias is refused once the others have moved
            if f"/functions/{app}-e/aliases/live" in params["url_path"]:
                time.sleep(0.5)
                return injected_error("InvalidParameterValueException", "alias e is locked")
            return None

        lambda_client.meta.events.register("before-call.lambda.UpdateAlias", refuse)
        try:
            with pytest.raises(DeployFailed, match="alias e is locked"):
                deployer.deploy(
                    app,
                    [spec(e) for e in [*entries, "new"]],
                    artifact=new.path,
                    sha256=new.sha256,
                    description="D",
                )
        finally:
            lambda_client.meta.events.unregister("before-call.lambda.UpdateAlias", refuse)

        assert "moving 5 aliases back" in " ".join(log)  # a-d and new had moved
        assert aliases(lambda_client, list(v1.versions)) == before
        for name in v1.versions:
            config = lambda_client.get_function(FunctionName=name, Qualifier="live")
            assert config["Configuration"]["CodeSha256"] == old.lambda_sha
        assert not exists(lambda_client, f"{app}-new")  # never live, so not left behind

    def test_an_invalid_role_on_one_function_changes_nothing_live(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        v1 = deployer.deploy(
            app, [spec("a"), spec("b")], artifact=old.path, sha256=old.sha256, description="D"
        )
        before = aliases(lambda_client, list(v1.versions))
        bad_role = "arn:aws:iam::123456789012:role/does-not-exist"

        with pytest.raises(DeployFailed, match="cannot be assumed by Lambda") as failure:
            deployer.deploy(
                app,
                [spec("a"), spec("b"), spec("c"), spec("d", role=bad_role)],
                artifact=new.path,
                sha256=new.sha256,
                description="D",
            )

        assert f"{app}-d" in failure.value.message
        assert aliases(lambda_client, list(v1.versions)) == before
        assert not exists(lambda_client, f"{app}-c")
        assert not exists(lambda_client, f"{app}-d")


class Killed(BaseException):
    """Stands for the worker process dying: nothing in the deployer may catch it."""


class TestRunAgain:
    def test_a_deploy_killed_mid_move_and_run_again_ends_consistent(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        specs = [spec(e) for e in ["a", "b", "c", "d"]]
        v1 = deployer.deploy(app, specs, artifact=old.path, sha256=old.sha256, description="D")

        def die(params: dict[str, Any], **_: Any) -> Any:
            if f"/functions/{app}-c/aliases/live" in params["url_path"]:
                time.sleep(0.3)  # the other aliases move meanwhile
                raise Killed
            return None

        lambda_client.meta.events.register("before-call.lambda.UpdateAlias", die)
        try:
            with pytest.raises(Killed):
                deployer.deploy(app, specs, artifact=new.path, sha256=new.sha256, description="D")
        finally:
            lambda_client.meta.events.unregister("before-call.lambda.UpdateAlias", die)
        half = aliases(lambda_client, list(v1.versions))
        assert half[f"{app}-c"] == "1"
        assert set(half.values()) == {"1", "2"}  # half-moved, as a dead worker leaves it

        again = deployer.deploy(app, specs, artifact=new.path, sha256=new.sha256, description="D")

        assert again.bytes_uploaded == 0
        # the dead attempt had updated and published everything: only c's alias was left
        assert (again.code_updates, again.aliases_moved) == (0, 1)
        assert aliases(lambda_client, list(v1.versions)) == dict.fromkeys(v1.versions, "2")
        for name in v1.versions:
            versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
            assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
