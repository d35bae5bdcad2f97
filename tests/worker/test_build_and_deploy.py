"""A real worker builds pushed sources and applies releases to moto's Lambda over HTTP."""

from __future__ import annotations

import base64

from sqlalchemy import select

from laambda.db.models import Build, Release
from laambda.db.session import session_scope
from tests.worker.conftest import Platform, python_app


def test_push_builds_deploys_and_records(platform: Platform) -> None:
    app = platform.create_app("thumbs")
    pushed = platform.push(app, python_app(["create", "resize"]), commit="3f9c1ab" + "0" * 33)
    assert pushed.outcome.status == "succeeded", pushed.text + pushed.outcome.detail
    assert pushed.outcome.detail == "Released v1: thumbs-create, thumbs-resize"
    assert "-----> Deploying 2 functions: thumbs-create, thumbs-resize" in pushed.text
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
        live = client.get_alias(FunctionName=name, Name="live")  # type: ignore[attr-defined]
        assert live["FunctionVersion"] == versions[name]
        config = client.get_function_configuration(  # type: ignore[attr-defined]
            FunctionName=name, Qualifier="live"
        )
        assert config["Handler"] == f"{entry}_mod.handler"
        assert config["Runtime"] == "python3.12"
        assert (config["MemorySize"], config["Timeout"]) == (1024, 10)
        assert config["CodeSha256"] == base64.b64encode(bytes.fromhex(sha)).decode()
