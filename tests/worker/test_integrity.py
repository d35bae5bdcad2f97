"""What `live` runs is what the release says: a rollback runs exactly its release's code, and
a push that changes nothing makes no release."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from tests.support.platform import Platform, python_app


def _lambda_sha(platform: Platform, build_id: int) -> str:
    with session_scope(platform.sessions) as session:
        sha = session.get_one(Build, build_id).artifact_sha256 or ""
    return base64.b64encode(bytes.fromhex(sha)).decode()


def _releases(platform: Platform, app_id: int) -> int:
    with session_scope(platform.sessions) as session:
        return session.scalar(select(func.count()).where(Release.app_id == app_id)) or 0


def test_rollback_past_an_entry_readded_with_another_handler_runs_the_releases_code(
    platform: Platform,
) -> None:
    app = platform.create_app("readd")
    first = platform.push(app, python_app(["web", "cron"]), commit="a1" * 20)
    assert first.outcome.detail == "Released v1: readd-cron, readd-web", first.text
    without = platform.push(app, python_app(["web"], marker="2"), commit="a2" * 20)
    assert without.outcome.status == "succeeded", without.text
    files = python_app(["web", "cron"], marker="3")
    files["Procfile"] = "web: web_mod.handler\ncron: cron_mod.other\n"
    readded = platform.push(app, files, commit="a3" * 20)
    assert readded.outcome.status == "succeeded", readded.text
    # made again, the function numbers its versions from 1: v1's "version 1" is v3's code
    assert platform.live("readd-cron")["Version"] == "1"

    rolled = platform.wait_release(platform.rollback(app, 1))

    assert rolled.status == "succeeded", rolled.log
    live = platform.live("readd-cron")
    assert live["CodeSha256"] == _lambda_sha(platform, first.build_id)
    assert live["Handler"] == "cron_mod.handler"
    assert live["Version"] == (rolled.function_versions or {})["readd-cron"] != "1"
    assert "readd-cron: version 1 is not the release's (it runs other code" in rolled.log


def test_a_push_that_changes_nothing_makes_no_release(platform: Platform) -> None:
    app = platform.create_app("noop")
    files = python_app(["web"])
    assert platform.push(app, files, commit="b1" * 20).outcome.status == "succeeded"
    assert platform.wait_release(platform.change_config(app, {"MODE": "1"})).status == "succeeded"

    # an empty commit: another commit id, the same tree
    again = platform.push(app, files, commit="b2" * 20)

    assert (again.outcome.status, again.outcome.detail) == (
        "succeeded",
        "nothing changed; v2 is live",
    )
    assert _releases(platform, app.id) == 2
    with session_scope(platform.sessions) as session:
        build = session.get_one(Build, again.build_id)
        assert build.status == "succeeded"
        assert "nothing changed; v2 is live" in build.log


def test_a_push_after_a_failed_release_deploys(platform: Platform) -> None:
    app = platform.create_app("retry")
    files = python_app(["web"])
    assert platform.push(app, files, commit="c1" * 20).outcome.status == "succeeded"
    assert platform.wait_release(platform.change_config(app, {"MODE": "1"})).status == "succeeded"
    # v3 fails (Lambda refuses the role for the new function); pushed again, it deploys
    with session_scope(platform.sessions) as session:
        row = session.get_one(App, app.id)
        good_role, row.role_arn = row.role_arn, "arn:aws:iam::123456789012:role/missing"
    changed = python_app(["web", "api"], marker="2")
    assert platform.push(app, changed, commit="c2" * 20).outcome.status == "failed"
    with session_scope(platform.sessions) as session:
        session.get_one(App, app.id).role_arn = good_role

    again = platform.push(app, changed, commit="c2" * 20)

    assert again.outcome.detail == "Released v4: retry-api, retry-web", again.text
    for name in ("retry-api", "retry-web"):
        assert platform.live(name)["CodeSha256"] == _lambda_sha(platform, again.build_id)
