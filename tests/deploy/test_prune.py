"""Pruning old versions, paging through ListVersionsByFunction 50 at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from laambda.deploy.lambda_ import Deployer, FunctionSpec
from tests.support.deploy import Artifact

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Spec = Callable[..., FunctionSpec]
MakeArtifact = Callable[..., Artifact]


@pytest.fixture
def paged(lambda_client: LambdaClient) -> Iterator[list[str | None]]:
    """Make moto page ListVersionsByFunction as AWS does (moto answers everything at once).

    Records the Marker of every page asked for.
    """
    markers: list[str | None] = []

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["paging"] = (params.get("Marker"), params.get("MaxItems", 50))
        markers.append(params.get("Marker"))

    def page(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        marker, limit = context["paging"]
        items = parsed["Versions"]
        start = 0 if marker is None else [v["Version"] for v in items].index(marker) + 1
        parsed["Versions"] = items[start : start + limit]
        if start + limit < len(items):
            parsed["NextMarker"] = parsed["Versions"][-1]["Version"]

    events = lambda_client.meta.events
    events.register("before-parameter-build.lambda.ListVersionsByFunction", remember)
    events.register("after-call.lambda.ListVersionsByFunction", page)
    yield markers
    events.unregister("before-parameter-build.lambda.ListVersionsByFunction", remember)
    events.unregister("after-call.lambda.ListVersionsByFunction", page)


class TestPrune:
    def test_keeps_what_releases_and_aliases_use_across_pages(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        paged: list[str | None],
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        deployer.deploy(
            app, [spec("web")], artifact=artifact.path, sha256=artifact.sha256, description="D"
        )
        name = f"{app}-web"
        for n in range(2, 121):  # versions 2..120, as 119 config releases would make
            lambda_client.update_function_configuration(FunctionName=name, Timeout=n)
            assert lambda_client.publish_version(FunctionName=name)["Version"] == str(n)
        lambda_client.update_alias(FunctionName=name, Name="live", FunctionVersion="120")
        lambda_client.create_alias(FunctionName=name, Name="canary", FunctionVersion="77")

        deleted = deployer.prune_versions(name, keep={"3", "59", "101"})

        assert paged == [None, "49", "99"]  # 121 entries with $LATEST: 50 + 50 + 21
        left = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
        assert [v["Version"] for v in left] == ["$LATEST", "3", "59", "77", "101", "120"]
        assert len(deleted) == 120 - 5
        lambda_client.get_function(FunctionName=name, Qualifier="live")

    def test_prune_of_many_functions(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        artifact = make_artifact()
        specs = [spec("web"), spec("worker")]
        v1 = deployer.deploy(
            app, specs, artifact=artifact.path, sha256=artifact.sha256, description="D"
        )
        changed = [spec(s.name, memory=512) for s in specs]
        v2 = deployer.deploy(app, changed, artifact=None, sha256=artifact.sha256, description="D")
        changed = [spec(s.name, memory=256) for s in specs]
        deployer.deploy(app, changed, artifact=None, sha256=artifact.sha256, description="D")

        # the retained releases are the last two: v2 and v3 (live)
        deleted = deployer.prune({name: {v2.versions[name]} for name in v1.versions})

        assert deleted == {name: ["1"] for name in v1.versions}
        for name in v1.versions:
            left = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
            assert [v["Version"] for v in left] == ["$LATEST", "2", "3"]


class TestVersionNumbers:
    def test_after_pruning_new_versions_get_new_numbers(
        self,
        deployer: Deployer,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        """As AWS does (moto needs laambda/local/moto_versions.py for it), so that a
        release never records a number that later means other code."""
        artifact = make_artifact()
        name = f"{app}-web"
        recorded = []
        for n in range(7):
            outcome = deployer.deploy(
                app,
                [spec("web", environment={"N": str(n)})],
                artifact=artifact.path,
                sha256=artifact.sha256,
                description="D",
            )
            recorded.append(outcome.versions[name])
            deployer.prune_versions(name, keep=set(recorded[-3:]))

        assert recorded == ["1", "2", "3", "4", "5", "6", "7"]
        live = lambda_client.get_function(FunctionName=name, Qualifier="live")["Configuration"]
        assert (live["Version"], live["Environment"]["Variables"]) == ("7", {"N": "6"})
        left = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
        assert [v["Version"] for v in left] == ["$LATEST", "5", "6", "7"]
