"""Rollbacks move `live` back to recorded versions; only gone versions are deployed again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from laambda.deploy.lambda_ import Deployer, FunctionSpec
from tests.support.deploy import Artifact

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Spec = Callable[..., FunctionSpec]
MakeArtifact = Callable[..., Artifact]


def live_config(client: LambdaClient, name: str) -> dict[str, object]:
    return dict(client.get_function(FunctionName=name, Qualifier="live")["Configuration"])


def published(client: LambdaClient, name: str) -> list[str]:
    versions = client.list_versions_by_function(FunctionName=name)["Versions"]
    return [v["Version"] for v in versions if v["Version"] != "$LATEST"]


class TestRollback:
    def test_after_a_config_change_the_old_config_is_live_again(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        old = [spec("web"), spec("worker")]
        v1 = deployer.deploy(
            app, old, artifact=artifact.path, sha256=artifact.sha256, description="Deploy"
        )
        new = [spec(s.name, environment={"BUCKET": "videos"}) for s in old]
        v2 = deployer.deploy(
            app, new, artifact=None, sha256=artifact.sha256, description="Set BUCKET"
        )
        assert live_config(lambda_client, f"{app}-web")["Environment"] == {
            "Variables": {"BUCKET": "videos"}
        }

        back = deployer.rollback(
            app,
            old,
            targets=v1.versions,
            sha256=artifact.sha256,
            description="Rollback to v1",
            previous=v2.versions,
        )

        assert back.versions == v1.versions
        assert (back.bytes_uploaded, back.code_updates, back.config_updates) == (0, 0, 0)
        assert back.redeployed == ()
        for name in v1.versions:
            config = live_config(lambda_client, name)
            assert config["Environment"] == {"Variables": {"BUCKET": "photos"}}
            assert config["Version"] == v1.versions[name]
            assert published(lambda_client, name) == ["1", "2"]  # nothing new was published

    def test_after_new_code_the_old_code_is_live_again(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        specs = [spec("web")]
        v1 = deployer.deploy(app, specs, artifact=old.path, sha256=old.sha256, description="D")
        deployer.deploy(app, specs, artifact=new.path, sha256=new.sha256, description="D")

        deployer.rollback(app, specs, targets=v1.versions, sha256=old.sha256, description="R")

        assert live_config(lambda_client, f"{app}-web")["CodeSha256"] == old.lambda_sha

    def test_a_pruned_version_is_deployed_again_from_the_artifact(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        specs = [spec("web"), spec("worker")]
        v1 = deployer.deploy(app, specs, artifact=old.path, sha256=old.sha256, description="D")
        deployer.deploy(app, specs, artifact=new.path, sha256=new.sha256, description="D")
        changed = [spec(s.name, memory=512) for s in specs]
        deployer.deploy(app, changed, artifact=None, sha256=new.sha256, description="D")
        assert deployer.prune_versions(f"{app}-web", keep=set()) == ["1", "2"]  # 3 is live

        back = deployer.rollback(
            app, specs, targets=v1.versions, sha256=old.sha256, description="Rollback to v1"
        )

        assert back.redeployed == (f"{app}-web",)
        assert back.versions[f"{app}-worker"] == v1.versions[f"{app}-worker"]
        assert back.versions[f"{app}-web"] == "4"
        web = live_config(lambda_client, f"{app}-web")
        assert (web["Version"], web["MemorySize"]) == (back.versions[f"{app}-web"], 1024)
        for name in specs_names(app, specs):
            assert live_config(lambda_client, name)["CodeSha256"] == old.lambda_sha

    def test_functions_the_target_had_come_back_and_others_go(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        then = [spec("web"), spec("cron", handler="main.tick")]
        v1 = deployer.deploy(
            app, then, artifact=artifact.path, sha256=artifact.sha256, description="D"
        )
        now = [spec("web"), spec("api")]
        v2 = deployer.deploy(
            app,
            now,
            artifact=artifact.path,
            sha256=artifact.sha256,
            description="D",
            previous=v1.versions,
        )
        assert f"{app}-cron" not in functions(lambda_client, app)

        back = deployer.rollback(
            app,
            then,
            targets=v1.versions,
            sha256=artifact.sha256,
            description="Rollback to v1",
            previous=v2.versions,
        )

        assert functions(lambda_client, app) == {f"{app}-web", f"{app}-cron"}
        assert back.redeployed == (f"{app}-cron",)
        assert back.removed == (f"{app}-api",)
        assert live_config(lambda_client, f"{app}-cron")["Handler"] == "main.tick"


class TestVerified:
    """A recorded version is trusted only once it is checked to hold the release's code and
    configuration: Lambda numbers versions per function, so a function deleted and made
    again has a "version 1" that is not the release's."""

    def test_an_entry_removed_and_readded_with_another_handler_runs_the_releases_code(
        self,
        deployer: Deployer,
        log: list[str],
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        then = [spec("web"), spec("cron", handler="main.tick")]
        v1 = deployer.deploy(app, then, artifact=old.path, sha256=old.sha256, description="D")
        without = [spec("web")]
        v2 = deployer.deploy(
            app,
            without,
            artifact=new.path,
            sha256=new.sha256,
            description="D",
            previous=v1.versions,
        )
        readded = [spec("web"), spec("cron", handler="main.other")]
        v3 = deployer.deploy(
            app,
            readded,
            artifact=new.path,
            sha256=new.sha256,
            description="D",
            previous=v2.versions,
        )
        cron = f"{app}-cron"
        # the recreated function's numbers start again: v1's "version 1" now holds v3's code
        assert v3.versions[cron] == v1.versions[cron] == "1"

        back = deployer.rollback(
            app,
            then,
            targets=v1.versions,
            sha256=old.sha256,
            description="Rollback to v1",
            previous=v3.versions,
        )

        live = live_config(lambda_client, cron)
        assert (live["CodeSha256"], live["Handler"]) == (old.lambda_sha, "main.tick")
        assert live["Version"] == back.versions[cron] != "1"
        assert back.redeployed == (cron,)  # web's version 1 still holds v1: it only moves
        assert back.versions[f"{app}-web"] == v1.versions[f"{app}-web"]
        assert any(f"{cron}: version 1 is not the release's" in line for line in log)

    def test_a_function_deleted_and_recreated_runs_the_releases_code(
        self,
        deployer: Deployer,
        log: list[str],
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        old, new = make_artifact("hello"), make_artifact("bonjour")
        specs = [spec("web"), spec("worker")]
        v1 = deployer.deploy(app, specs, artifact=old.path, sha256=old.sha256, description="D")
        deployer.deploy(app, specs, artifact=new.path, sha256=new.sha256, description="D")
        # someone deletes a function in the console, and the next deploy makes it again
        lambda_client.delete_function(FunctionName=f"{app}-worker")
        recreated = [spec("web"), spec("worker", handler="main.renamed", memory=512)]
        deployer.deploy(app, recreated, artifact=new.path, sha256=new.sha256, description="D")
        assert published(lambda_client, f"{app}-worker") == ["1"]

        back = deployer.rollback(
            app, specs, targets=v1.versions, sha256=old.sha256, description="Rollback to v1"
        )

        assert back.redeployed == (f"{app}-worker",)
        assert back.versions[f"{app}-web"] == v1.versions[f"{app}-web"]  # verified, just moved
        for name in specs_names(app, specs):
            live = live_config(lambda_client, name)
            assert live["Version"] == back.versions[name]
            assert live["CodeSha256"] == old.lambda_sha
            assert (live["Handler"], live["MemorySize"]) == ("main.handler", 1024)
        assert any("it runs other code" in line for line in log)


def specs_names(app: str, specs: list[FunctionSpec]) -> list[str]:
    return [f"{app}-{s.name}" for s in specs]


def functions(client: LambdaClient, app: str) -> set[str]:
    found = client.list_functions(MaxItems=50)["Functions"]
    return {f["FunctionName"] for f in found if f["FunctionName"].startswith(f"{app}-")}
