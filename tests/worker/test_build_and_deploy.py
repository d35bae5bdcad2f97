"""A real worker builds pushed sources and applies releases to moto's Lambda over HTTP."""

from __future__ import annotations

import base64
import time

from sqlalchemy import select

from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from tests.support.platform import Platform, python_app


def test_push_builds_deploys_and_records(platform: Platform) -> None:
    app = platform.create_app("thumbs")
    pushed = platform.push(app, python_app(["create", "resize"]), commit="3f9c1ab" + "0" * 33)
    assert pushed.outcome.status == "succeeded", pushed.text + pushed.outcome.detail
    assert pushed.outcome.detail == "Released v1: thumbs-create, thumbs-resize"
    # each step is told once: the deploy by the deploy engine, the outcome by `done`
    assert pushed.text.count("Deploying 2 functions") == 1
    assert "-----> Deploying 2 functions: thumbs-create, thumbs-resize" in pushed.text
    assert "Released" not in pushed.text
    with session_scope(platform.sessions) as session:
        build = session.get_one(Build, pushed.build_id)
        release = session.scalars(select(Release)).one()
        assert build.status == "succeeded"
        assert "Released v1" in build.log
        assert (release.version, release.description, release.status) == (
            1,
            "Deploy 3f9c1ab",
            "succeeded",
        )
        versions = release.function_versions or {}
        sha = build.artifact_sha256 or ""
    client = platform.lambda_client
    for entry in ("create", "resize"):
        name = f"thumbs-{entry}"
        live = client.get_alias(FunctionName=name, Name="live")
        assert live["FunctionVersion"] == versions[name]
        config = client.get_function_configuration(FunctionName=name, Qualifier="live")
        assert config["Handler"] == f"{entry}_mod.handler"
        assert config["Runtime"] == "python3.12"
        assert (config["MemorySize"], config["Timeout"]) == (1024, 10)
        assert config["CodeSha256"] == base64.b64encode(bytes.fromhex(sha)).decode()


def test_config_rollback_and_procfile_changes_reach_aws(platform: Platform) -> None:
    app = platform.create_app("photos")
    first = platform.push(app, python_app(["create", "resize"]), commit="a" * 40)
    assert first.outcome.status == "succeeded", first.text
    v1 = platform.live("photos-create")["Version"]

    # a config release updates configuration only, then publishes and moves live
    v2 = platform.wait_release(platform.change_config(app, {"BUCKET": "old-bucket"}))
    assert v2.status == "succeeded", v2.log
    assert platform.live("photos-create")["Environment"]["Variables"] == {"BUCKET": "old-bucket"}
    v3 = platform.wait_release(platform.change_config(app, {"BUCKET": "new-bucket"}))
    assert v3.status == "succeeded", v3.log
    assert platform.live("photos-resize")["Environment"]["Variables"] == {"BUCKET": "new-bucket"}

    # rollback to v2 moves the aliases back to v2's versions: the old config is live again
    rolled = platform.wait_release(platform.rollback(app, 2))
    assert rolled.status == "succeeded", rolled.log
    assert rolled.function_versions == v2.function_versions
    assert platform.live("photos-create")["Environment"]["Variables"] == {"BUCKET": "old-bucket"}
    assert platform.live("photos-create")["Version"] != v1

    # a Procfile that lost an entry deletes that function once the release is live
    second = platform.push(app, python_app(["create"], marker="2"), commit="b" * 40)
    assert second.outcome.status == "succeeded", second.text
    names = [f["FunctionName"] for f in platform.lambda_client.list_functions()["Functions"]]
    assert "photos-resize" not in names
    assert "photos-create" in names
    assert platform.live("photos-create")["Environment"]["Variables"] == {"BUCKET": "old-bucket"}


def test_deploy_failing_halfway_leaves_every_alias_where_it_was(platform: Platform) -> None:
    app = platform.create_app("fails")
    assert platform.push(app, python_app(["a", "b"]), commit="1" * 40).outcome.status == "succeeded"
    before = {name: platform.live(name)["CodeSha256"] for name in ("fails-a", "fails-b")}
    versions = {name: platform.live(name)["Version"] for name in ("fails-a", "fails-b")}
    with session_scope(platform.sessions) as session:
        session.get_one(App, app.id).role_arn = "arn:aws:iam::123456789012:role/missing"
    # a and b get new code and versions; creating c fails: nothing may go live
    pushed = platform.push(app, python_app(["a", "b", "c"], marker="2"), commit="3" * 40)
    assert pushed.outcome.status == "failed"
    assert "The role defined for the function cannot be assumed by Lambda" in pushed.outcome.detail
    assert "cannot be assumed" not in pushed.text  # told once, by the outcome
    assert {name: platform.live(name)["CodeSha256"] for name in before} == before
    assert {name: platform.live(name)["Version"] for name in versions} == versions
    with session_scope(platform.sessions) as session:
        release = session.scalars(
            select(Release).where(Release.app_id == app.id, Release.version == 2)
        ).one()
        assert release.status == "failed"
        assert "cannot be assumed" in (release.error or "")


def test_versions_no_retained_release_refers_to_are_pruned(platform: Platform) -> None:
    app = platform.create_app("pruned")
    assert platform.push(app, python_app(["web"]), commit="2" * 40).outcome.status == "succeeded"
    releases = [
        platform.wait_release(platform.change_config(app, {"NN": str(n)})) for n in range(7)
    ]
    kept = platform.worker.settings.retained_releases
    expected = {
        str(r.function_versions["pruned-web"]) for r in releases[-kept:] if r.function_versions
    }

    def versions() -> set[str]:
        listed = platform.lambda_client.list_versions_by_function(FunctionName="pruned-web")
        return {v["Version"] for v in listed["Versions"]} - {"$LATEST"}

    # pruning follows the release's success (the release is live before it): give it time
    deadline = time.monotonic() + 10
    while versions() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert versions() == expected


def test_rollback_recreates_functions_the_old_release_had(platform: Platform) -> None:
    app = platform.create_app("again")
    assert platform.push(app, python_app(["a", "b"]), commit="4" * 40).outcome.status == "succeeded"
    assert platform.push(app, python_app(["a"], marker="2"), commit="5" * 40).outcome.status == (
        "succeeded"
    )
    assert "again-b" not in _function_names(platform)
    rolled = platform.wait_release(platform.rollback(app, 1))
    assert rolled.status == "succeeded", rolled.log
    assert "again-b" in _function_names(platform)
    assert platform.live("again-b")["Handler"] == "b_mod.handler"
    versions = rolled.function_versions or {}
    assert platform.live("again-b")["Version"] == versions["again-b"]
    # returning to v2, which had only `a`, removes `b` again
    forward = platform.wait_release(platform.rollback(app, 2))
    assert forward.status == "succeeded", forward.log
    assert "again-b" not in _function_names(platform)


def _function_names(platform: Platform) -> set[str]:
    return {f["FunctionName"] for f in platform.lambda_client.list_functions()["Functions"]}
