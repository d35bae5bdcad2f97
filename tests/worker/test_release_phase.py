"""The release phase and smoke checks on the real platform: a real worker, moto's Lambda
running functions with laambda's local runtime, pushes followed as the pusher sees them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from laambda.db.models import Release
from laambda.db.session import session_scope
from tests.support.platform import Platform, python_app

RELEASE_OK = """\
import os


def handler(event, context):
    print("migrating with", os.environ.get("BUCKET"))
    print("migrations done")
    return {"ok": True}
"""
RELEASE_FAILS = """\
def handler(event, context):
    print("migration 0007 starting")
    raise RuntimeError("column users.email already exists")
"""


def with_release(code: str, *, marker: str) -> dict[str, str]:
    files = python_app(["web"], marker=marker)
    files["Procfile"] += "release: release_mod.handler\n"
    files["release_mod.py"] = code + f"# {marker}\n"
    return files


def releases(platform: Platform, app_id: int) -> dict[int, Release]:
    with session_scope(platform.sessions) as session:
        rows = session.scalars(select(Release).where(Release.app_id == app_id)).all()
        session.expunge_all()
        return {row.version: row for row in rows}


@pytest.mark.usefixtures("local_runtime")
def test_release_phase_runs_before_live_moves_and_a_failure_releases_nothing(
    platform: Platform,
) -> None:
    app = platform.create_app("phased")
    platform.change_config(app, {"BUCKET": "photos"})
    first = platform.push(app, with_release(RELEASE_OK, marker="1"), commit="a" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    text = first.text
    # it is deployed beside the app's functions, and named apart from them
    assert "-----> Deploying 1 function: phased-web, and the release phase phased-release" in text
    # its lines reach the pusher, before any alias moves
    assert "-----> Running release phase (phased-release version 1)" in text
    assert "       migrating with photos" in text
    assert text.index("migrations done") < text.index("live moved on 1 functions")
    assert "release phase succeeded" in text
    assert first.outcome.detail == "Released v2: phased-web"
    # the release entry is no function of the app's: no `live`, not in the release
    with pytest.raises(ClientError, match="ResourceNotFound"):
        platform.lambda_client.get_alias(FunctionName="phased-release", Name="live")
    v2 = releases(platform, app.id)[2]
    assert v2.function_versions == {"phased-web": "1"}
    live_before = platform.live("phased-web")

    failed = platform.push(app, with_release(RELEASE_FAILS, marker="2"), commit="b" * 40)
    assert failed.outcome.status == "failed", failed.text
    assert "release phase failed" in failed.outcome.detail
    assert "column users.email already exists" in failed.outcome.detail
    assert "migration 0007 starting" in failed.text
    # nothing moved: the previous release is live, with its code
    after = platform.live("phased-web")
    assert (after["Version"], after["CodeSha256"]) == (
        live_before["Version"],
        live_before["CodeSha256"],
    )
    v3 = releases(platform, app.id)[3]
    assert v3.status == "failed"
    assert "column users.email already exists" in (v3.error or "")

    # a rollback skips the release phase unless asked
    fixed = platform.push(app, with_release(RELEASE_OK, marker="3"), commit="c" * 40)
    assert fixed.outcome.status == "succeeded", fixed.text + fixed.outcome.detail
    rolled = platform.wait_release(platform.rollback(app, 2))
    assert rolled.status == "succeeded", rolled.log
    assert "Running release phase" not in rolled.log
    asked = platform.wait_release(platform.rollback(app, 4, run_release_phase=True))
    assert asked.status == "succeeded", asked.log
    assert "-----> Running release phase" in asked.log
    assert "migrations done" in asked.log

    # a Procfile that drops the release entry drops its function
    dropped = platform.push(app, python_app(["web"], marker="4"), commit="d" * 40)
    assert dropped.outcome.status == "succeeded", dropped.text + dropped.outcome.detail
    assert "Running release phase" not in dropped.text
    with pytest.raises(ClientError, match="ResourceNotFound"):
        platform.lambda_client.get_function(FunctionName="phased-release")


WEB = """\
import os


def handler(event, context):
    if os.environ.get("BROKEN"):
        raise KeyError("DATABASE_URL")
    return {"statusCode": STATUS, "body": "ok"}
"""


def web_app(status: int) -> dict[str, str]:
    files = python_app(["web"])
    files["web_mod.py"] = WEB.replace("STATUS", str(status))
    return files


@pytest.mark.usefixtures("local_runtime")
def test_a_failing_smoke_check_stops_the_release(platform: Platform) -> None:
    app = platform.create_app("checked")
    first = platform.push(app, web_app(200), commit="1" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    platform.set_check(app, "web", {"rawPath": "/health"}, 200)
    live_before = platform.live("checked-web")

    # new code answering 500: checked on its new version, refused, nothing moves
    bad = platform.push(app, web_app(500), commit="2" * 40)
    assert bad.outcome.status == "failed", bad.text
    assert "smoke check of checked-web version 2 failed: statusCode 500, expected 200" in (
        bad.outcome.detail
    )
    assert '"statusCode": 500' in bad.outcome.detail  # the answer is shown
    assert platform.live("checked-web")["CodeSha256"] == live_before["CodeSha256"]

    # a config change that makes the function raise is stopped the same way
    broken = platform.wait_release(platform.change_config(app, {"BROKEN": "1"}))
    assert broken.status == "failed", broken.log
    assert "function error (Unhandled)" in (broken.error or "")
    assert "DATABASE_URL" in (broken.error or "")
    assert "BROKEN" not in platform.live("checked-web").get("Environment", {}).get("Variables", {})

    # healthy code passes its check before live moves (the failed BROKEN=1 was not kept)
    good = platform.push(app, web_app(200) | {"extra.py": "X = 1\n"}, commit="3" * 40)
    assert good.outcome.status == "succeeded", good.text + good.outcome.detail
    assert good.text.index("checked-web: smoke check passed") < good.text.index("live moved")
