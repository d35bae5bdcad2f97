"""No secret the platform holds reaches a pusher's screen, a stored build or release log or
error, or the API, whatever the pushed code makes the build, its release phase or its smoke
checked functions print or answer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.domain.redact import REDACTED
from laambda.services.user import user_service
from tests.support.api import app_for
from tests.support.platform import Platform, Pushed, python_app

CONFIG_VALUE = "internal-token-5f2a9c"


def _seen_and_stored(platform: Platform, pushed: Pushed) -> str:
    with session_scope(platform.sessions) as session:
        build = session.get_one(Build, pushed.build_id)
        return "\n".join([pushed.text, pushed.outcome.detail or "", build.log, build.error or ""])


def test_secret_key_and_config_values_are_hidden_from_stream_and_log(platform: Platform) -> None:
    secret_key = platform.worker.settings.secret_key
    app = platform.create_app("leaky")
    configured = platform.wait_release(platform.change_config(app, {"TOKEN": CONFIG_VALUE}))
    assert configured.status == "succeeded", configured.log

    # a failure message that quotes the pushed text (the Procfile line) carrying both values
    files = python_app(["web"])
    files["Procfile"] = f"web {secret_key} {CONFIG_VALUE}\n"
    refused = platform.push(app, files, commit="1" * 40)
    assert refused.outcome.status == "failed"
    shown = _seen_and_stored(platform, refused)
    assert f"Procfile line 1: 'web {REDACTED} {REDACTED}' is not" in shown
    assert secret_key not in shown
    assert CONFIG_VALUE not in shown

    # the installer's own output, naming both values as packages the index does not have
    files = python_app(["web"])
    files["requirements.txt"] = f"{secret_key}\n{CONFIG_VALUE}\n"
    failed = platform.push(app, files, commit="2" * 40)
    assert failed.outcome.status == "failed"
    shown = _seen_and_stored(platform, failed)
    assert "-----> Installing wheels for" in shown
    assert REDACTED in shown.split("-----> Installing wheels for", 1)[1]
    assert secret_key not in shown
    assert CONFIG_VALUE not in shown


DATABASE_URL = "postgres://user:hunter2pass@db.example.com/x"
API_KEY = "sk_live_abcdefghijkl"
LEAKED = (DATABASE_URL, "hunter2pass", API_KEY)
RELEASE = """\
import os


def handler(event, context):
    print("release env:", {name: os.environ[name] for name in ("API_KEY", "DATABASE_URL")})
    if FAILS:
        raise RuntimeError("cannot connect to " + os.environ["DATABASE_URL"])
    return "migrated"
"""
WEB = """\
import os


def handler(event, context):
    if FAILS or os.environ.get("BREAK"):
        return {"statusCode": 500, "body": "db down: " + os.environ["API_KEY"]}
    return {"statusCode": 200, "body": "ok"}
"""
SHOWN_ENV = f"release env: {{'API_KEY': '{REDACTED}', 'DATABASE_URL': '{REDACTED}'}}"


def leaky_app(
    *, marker: str, release_fails: bool = False, web_fails: bool = False
) -> dict[str, str]:
    """A release phase printing two config values (raising with one when `release_fails`)
    and a web function answering 500 with a config value (when `web_fails`, or BREAK is set)."""
    files = python_app(["web"], marker=marker)
    files["Procfile"] += "release: release_mod.handler\n"
    files["release_mod.py"] = RELEASE.replace("FAILS", str(release_fails)) + f"# {marker}\n"
    files["web_mod.py"] = WEB.replace("FAILS", str(web_fails)) + f"# {marker}\n"
    return files


def _everything_shown(platform: Platform, app: App, pushes: list[Pushed]) -> str:
    """What the pushers saw, and every build and release of `app` as the database holds
    them and as the API shows them (a build's page and its replayed stream, a release's)."""
    with session_scope(platform.sessions) as session:
        _, token = user_service.create_token(session, platform.user, name="reader")
        builds = session.scalars(select(Build).where(Build.app_id == app.id)).all()
        releases = session.scalars(select(Release).where(Release.app_id == app.id)).all()
        stored = [text for b in builds for text in (b.log, b.error or "")]
        stored += [text for r in releases for text in (r.log, r.error or "")]
        build_ids, versions = [b.id for b in builds], [r.version for r in releases]
    headers = {"Authorization": f"Bearer {token}"}
    answers = []
    with TestClient(app_for(platform.worker.settings)) as client:
        for build_id in build_ids:
            answers.append(client.get(f"/v1/apps/{app.name}/builds/{build_id}", headers=headers))
            stream = client.get(f"/v1/apps/{app.name}/builds/{build_id}/stream", headers=headers)
            answers.append(stream)
        for version in versions:
            answers.append(client.get(f"/v1/apps/{app.name}/releases/{version}", headers=headers))
    assert [a.status_code for a in answers] == [200] * len(answers)
    seen = [text for pushed in pushes for text in (pushed.text, pushed.outcome.detail or "")]
    return "\n".join([*seen, *stored, *(answer.text for answer in answers)])


@pytest.mark.usefixtures("local_runtime")
def test_config_values_are_hidden_from_the_release_phase_and_smoke_checks(
    platform: Platform,
) -> None:
    app = platform.create_app("leaky-release")
    config: dict[str, str | None] = {"DATABASE_URL": DATABASE_URL, "API_KEY": API_KEY}
    assert platform.wait_release(platform.change_config(app, config)).status == "succeeded"

    # a release phase that succeeds: its printed lines are streamed and stored redacted; its
    # web answers 500 (no smoke check yet), for the rollback below
    unchecked = platform.push(app, leaky_app(marker="1", web_fails=True), commit="1" * 40)
    assert unchecked.outcome.status == "succeeded", unchecked.text + unchecked.outcome.detail
    assert SHOWN_ENV in unchecked.text
    platform.set_check(app, "web", {"rawPath": "/"}, 200)
    released = platform.push(app, leaky_app(marker="2"), commit="2" * 40)
    assert released.outcome.status == "succeeded", released.text + released.outcome.detail

    # one that prints them and raises with one: the push's answer quotes both redacted
    phase = platform.push(app, leaky_app(marker="3", release_fails=True), commit="3" * 40)
    assert phase.outcome.status == "failed", phase.text
    assert "release phase failed: " in phase.outcome.detail
    assert f"cannot connect to {REDACTED}" in phase.outcome.detail
    assert "last lines of its log:" in phase.outcome.detail
    assert SHOWN_ENV in phase.outcome.detail.split("last lines of its log:", 1)[1]

    # a smoke check whose function answers with one
    smoke = platform.push(app, leaky_app(marker="4", web_fails=True), commit="4" * 40)
    assert smoke.outcome.status == "failed", smoke.text
    assert f'"body": "db down: {REDACTED}"' in smoke.outcome.detail

    # a config change (no build) failing the same smoke check
    broken = platform.wait_release(platform.change_config(app, {"BREAK": "1"}))
    assert broken.status == "failed", broken.log
    assert f'"body": "db down: {REDACTED}"' in (broken.error or "")

    # a rollback, running the release phase again, to code failing the smoke check
    with session_scope(platform.sessions) as session:
        first = session.scalars(
            select(Release.version)
            .where(Release.build_id == unchecked.build_id)
            .order_by(Release.version)
        ).first()
    assert first is not None
    rolled = platform.wait_release(platform.rollback(app, first, run_release_phase=True))
    assert rolled.status == "failed", rolled.log
    assert SHOWN_ENV in rolled.log
    assert f'"body": "db down: {REDACTED}"' in (rolled.error or "")

    shown = _everything_shown(platform, app, [unchecked, released, phase, smoke])
    for value in LEAKED:
        assert value not in shown
