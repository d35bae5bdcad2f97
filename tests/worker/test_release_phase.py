"""The release phase on the real platform: a real worker, moto's Lambda running functions with
laambda's local runtime, pushes followed as the pusher sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from laambda.db.models import Release
from laambda.db.session import session_scope
from laambda.local import moto_lambda
from tests.worker.conftest import Platform, python_app

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


@pytest.fixture
def local_runtime(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """moto's Invoke (in this process) runs functions with laambda's runtime."""
    moto_lambda.install(Path(tmp_path_factory.mktemp("runtime")), endpoint=moto_url)
    yield
    moto_lambda.uninstall()


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
