"""Deploys against moto's server: what AWS holds afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from laambda.deploy.lambda_ import Deployer, FunctionSpec, artifact_key
from laambda.errors import DeployFailed
from laambda.objectstore import ObjectStore
from tests.support.deploy import Artifact

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Spec = Callable[..., FunctionSpec]
MakeArtifact = Callable[..., Artifact]


def live(client: LambdaClient, name: str) -> str:
    return client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]


def names(client: LambdaClient, app: str) -> set[str]:
    functions = client.list_functions(MaxItems=50)["Functions"]
    return {f["FunctionName"] for f in functions if f["FunctionName"].startswith(f"{app}-")}


class TestFirstDeploy:
    def test_functions_are_created_as_specified(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        object_store: ObjectStore,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        specs = [
            spec("web", handler="main.handler", memory=2048, timeout=30),
            spec("worker", handler="main.work", architecture="arm64", environment={"A": "1"}),
        ]

        outcome = deployer.deploy(
            app, specs, artifact=artifact.path, sha256=artifact.sha256, description="Deploy 3f9c1ab"
        )

        web = lambda_client.get_function(FunctionName=f"{app}-web")["Configuration"]
        assert (web["Handler"], web["Runtime"], web["MemorySize"], web["Timeout"]) == (
            "main.handler",
            "python3.12",
            2048,
            30,
        )
        assert web["Environment"]["Variables"] == {"BUCKET": "photos"}
        worker = lambda_client.get_function(FunctionName=f"{app}-worker")["Configuration"]
        assert worker["Handler"] == "main.work"
        assert worker["Architectures"] == ["arm64"]
        assert worker["Environment"]["Variables"] == {"A": "1"}
        for name in (f"{app}-web", f"{app}-worker"):
            config = lambda_client.get_function(FunctionName=name)["Configuration"]
            assert config["CodeSha256"] == artifact.lambda_sha
            assert live(lambda_client, name) == outcome.versions[name]
        assert outcome.created == (f"{app}-web", f"{app}-worker")
        assert outcome.bytes_uploaded == artifact.path.stat().st_size
        assert object_store.get_bytes(artifact_key(artifact.sha256)) == artifact.path.read_bytes()

    def test_a_deploy_that_needs_no_artifact_upload_finds_it_in_the_store(
        self, deployer: Deployer, app: str, spec: Spec, make_artifact: MakeArtifact
    ) -> None:
        artifact = make_artifact()
        with pytest.raises(DeployFailed, match="not in the object store"):
            deployer.deploy(
                app, [spec("web")], artifact=None, sha256=artifact.sha256, description="Set A"
            )


class TestRedeploy:
    def test_same_artifact_again_uploads_and_updates_nothing(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        specs = [spec("web"), spec("worker")]
        first = deployer.deploy(
            app, specs, artifact=artifact.path, sha256=artifact.sha256, description="Deploy a"
        )

        again = deployer.deploy(
            app, specs, artifact=artifact.path, sha256=artifact.sha256, description="Deploy a"
        )

        assert (again.bytes_uploaded, again.code_updates, again.config_updates) == (0, 0, 0)
        assert again.aliases_moved == 0
        assert again.versions == first.versions
        versions = lambda_client.list_versions_by_function(FunctionName=f"{app}-web")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1"]

    def test_new_code_updates_code_and_keeps_the_old_artifact(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        object_store: ObjectStore,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        specs = [spec("web"), spec("worker")]
        deployer.deploy(app, specs, artifact=old.path, sha256=old.sha256, description="Deploy a")

        outcome = deployer.deploy(
            app, specs, artifact=new.path, sha256=new.sha256, description="Deploy b"
        )

        assert outcome.code_updates == 2
        assert outcome.config_updates == 0
        for name, version in outcome.versions.items():
            live_config = lambda_client.get_function(FunctionName=name, Qualifier="live")
            assert live_config["Configuration"]["CodeSha256"] == new.lambda_sha
            assert live(lambda_client, name) == version == "2"
        assert object_store.get_bytes(artifact_key(old.sha256)) == old.path.read_bytes()

    def test_config_release_updates_configuration_only(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        deployer.deploy(
            app, [spec("web")], artifact=artifact.path, sha256=artifact.sha256, description="D"
        )

        changed = [spec("web", environment={"BUCKET": "photos", "DEBUG": "1"}, memory=512)]
        outcome = deployer.deploy(
            app, changed, artifact=None, sha256=artifact.sha256, description="Set DEBUG"
        )

        assert (outcome.bytes_uploaded, outcome.code_updates, outcome.config_updates) == (0, 0, 1)
        config = lambda_client.get_function(FunctionName=f"{app}-web", Qualifier="live")
        assert config["Configuration"]["Environment"]["Variables"] == {
            "BUCKET": "photos",
            "DEBUG": "1",
        }
        assert config["Configuration"]["MemorySize"] == 512
        assert live(lambda_client, f"{app}-web") == outcome.versions[f"{app}-web"] == "2"


class TestRemovedEntries:
    def test_function_of_a_removed_entry_is_deleted(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        first = deployer.deploy(
            app,
            [spec("web"), spec("worker")],
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
        )

        outcome = deployer.deploy(
            app,
            [spec("web")],
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
            previous=first.versions,
        )

        assert outcome.removed == (f"{app}-worker",)
        assert names(lambda_client, app) == {f"{app}-web"}

    def test_without_previous_names_only_this_apps_tagged_functions_go(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        """App `x`'s prefix `x-` also matches app `x-api`: the tag tells them apart."""
        artifact = make_artifact()
        neighbour = f"{app}-api"
        deployer.deploy(
            neighbour,
            [spec("web")],
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
        )
        deployer.deploy(
            app,
            [spec("web"), spec("old")],
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
        )

        outcome = deployer.deploy(
            app, [spec("web")], artifact=artifact.path, sha256=artifact.sha256, description="D"
        )

        assert outcome.removed == (f"{app}-old",)
        assert names(lambda_client, app) == {f"{app}-web", f"{neighbour}-web"}

    def test_a_function_laambda_did_not_make_is_left_alone(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        object_store: ObjectStore,
        app: str,
        spec: Spec,
        role: str,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        object_store.put_file(artifact_key(artifact.sha256), artifact.path)
        lambda_client.create_function(
            FunctionName=f"{app}-web",
            Role=role,
            Handler="theirs.handler",
            Runtime="python3.12",
            Code={"S3Bucket": object_store.bucket, "S3Key": artifact_key(artifact.sha256)},
            Tags={"laambda:app": "another-tenant"},
        )

        with pytest.raises(DeployFailed, match="exists and is not app") as refused:
            deployer.deploy(
                app, [spec("web")], artifact=artifact.path, sha256=artifact.sha256, description="D"
            )
        assert "another-tenant" not in str(refused.value)  # another tenant's app is not named

        config = lambda_client.get_function(FunctionName=f"{app}-web")["Configuration"]
        assert config["Handler"] == "theirs.handler"

    def test_previous_names_of_another_app_are_not_deleted(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        neighbour = f"{app}-api"
        deployer.deploy(
            neighbour,
            [spec("web")],
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
        )

        outcome = deployer.deploy(
            app,
            [spec("web")],
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
            previous=[f"{neighbour}-web", f"{app}-gone-already"],
        )

        assert outcome.removed == ()
        assert f"{neighbour}-web" in names(lambda_client, app)


class TestArtifactKey:
    def test_bytes_that_are_not_the_named_sha_are_refused(
        self,
        deployer: Deployer,
        object_store: ObjectStore,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        one, other = make_artifact("hello"), make_artifact("bonjour")

        with pytest.raises(DeployFailed, match="has sha256"):
            deployer.deploy(
                app, [spec("web")], artifact=other.path, sha256=one.sha256, description="D"
            )

        assert not object_store.exists(artifact_key(one.sha256))
