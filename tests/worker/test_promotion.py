"""Promotion on the real platform: staging's artifact released in production by the live
worker, with production's own config, nothing built; and rolled back like any release."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from laambda.crypto import Cipher
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.errors import PromotionRefused
from laambda.services.pipeline import pipeline_service
from laambda.services.promotion import promotion_service
from tests.support.platform import Platform, python_app


def _pipeline(platform: Platform) -> tuple[App, App]:
    staging = platform.create_app("shop-staging")
    production = platform.create_app("shop-prod")
    with session_scope(platform.sessions) as session:
        settings = platform.worker.settings
        pipeline_service.create(session, platform.user, name="shop", data_dir=settings.data_dir)
        pipeline_service.add(session, platform.user, "shop", app=staging.name, stage="staging")
        pipeline_service.add(session, platform.user, "shop", app=production.name, stage=None)
    return staging, production


def _promote(platform: Platform, app: App) -> list[int]:
    """Promote as the API does; the ids of the releases made."""
    with session_scope(platform.sessions) as session:
        _, outcomes = promotion_service.promote(
            session,
            platform.user,
            app=app.name,
            to=None,
            cipher=Cipher(platform.worker.settings.secret_key),
            applier=platform.worker.queue,
            data_dir=platform.worker.settings.data_dir,
        )
        return [o.release.id for o in outcomes if o.release is not None]


def _builds(platform: Platform, app: App, origin: str) -> int:
    with session_scope(platform.sessions) as session:
        query = select(func.count()).where(Build.app_id == app.id, Build.origin == origin)
        return int(session.scalar(query) or 0)


def _code(sha: str) -> str:
    return base64.b64encode(bytes.fromhex(sha)).decode()


def test_promotion_deploys_the_same_artifact_with_the_downstream_config(
    platform: Platform,
) -> None:
    staging, production = _pipeline(platform)
    # production's own config, set before it ever ran code (recorded: nothing to deploy)
    assert platform.wait_release(platform.change_config(production, {"BUCKET": "prod"})).status == (
        "succeeded"
    )
    pushed = platform.push(staging, python_app(["web"]), commit="c0ffee" + "0" * 34)
    assert pushed.outcome.status == "succeeded", pushed.text
    with session_scope(platform.sessions) as session:
        source = session.get_one(Build, pushed.build_id)
        sha = source.artifact_sha256 or ""
    pushes = _builds(platform, staging, "push") + _builds(platform, production, "push")

    (release_id,) = _promote(platform, staging)
    release = platform.wait_release(release_id)
    assert release.status == "succeeded", release.log
    assert (release.version, release.description) == (2, "Promote v1 of shop-staging")
    with session_scope(platform.sessions) as session:
        build = session.get_one(Build, release.build_id)
        assert (build.origin, build.promoted_from, build.status) == (
            "promotion",
            pushed.build_id,
            "succeeded",
        )
        assert build.artifact_sha256 == sha
        assert build.commit == "c0ffee" + "0" * 34
        assert (
            build.log
            == f"-----> Promoted from build {pushed.build_id} of shop-staging; nothing built\n"
        )
        assert session.get_one(App, production.id).last_deployed_at is not None
    # nothing was built: no push build anywhere since, and the code in Lambda is staging's
    assert _builds(platform, staging, "push") + _builds(platform, production, "push") == pushes
    live = platform.live("shop-prod-web")
    assert live["CodeSha256"] == platform.live("shop-staging-web")["CodeSha256"] == _code(sha)
    assert live["Environment"]["Variables"] == {"BUCKET": "prod"}
    assert "Environment" not in platform.live("shop-staging-web") or not platform.live(
        "shop-staging-web"
    )["Environment"].get("Variables")

    # a newer staging build promoted, then production rolled back to the first promotion
    again = platform.push(staging, python_app(["web"], marker="2"), commit="beef" + "0" * 36)
    assert again.outcome.status == "succeeded", again.text
    (second,) = _promote(platform, staging)
    assert platform.wait_release(second).status == "succeeded"
    assert platform.live("shop-prod-web")["CodeSha256"] != _code(sha)
    rolled = platform.wait_release(platform.rollback(production, 2))
    assert rolled.status == "succeeded", rolled.log
    assert platform.live("shop-prod-web")["CodeSha256"] == _code(sha)
    assert platform.live("shop-prod-web")["Environment"]["Variables"] == {"BUCKET": "prod"}

    # promoting what production already runs changes nothing
    with session_scope(platform.sessions) as session:
        count = session.scalar(select(func.count()).where(Release.app_id == production.id))
    platform.rollback(staging, 1)
    with session_scope(platform.sessions) as session:
        latest = session.scalar(
            select(Release).where(Release.app_id == staging.id).order_by(Release.id.desc())
        )
        assert latest is not None
        staging_release = latest.id
    assert platform.wait_release(staging_release).status == "succeeded"
    assert _promote(platform, staging) == []
    with session_scope(platform.sessions) as session:
        assert session.scalar(select(func.count()).where(Release.app_id == production.id)) == count


def test_a_refused_promotion_changes_nothing_in_aws(platform: Platform) -> None:
    staging = platform.create_app("shop-staging")
    production = platform.create_app("shop-production-eu-west-1")
    with session_scope(platform.sessions) as session:
        settings = platform.worker.settings
        pipeline_service.create(session, platform.user, name="shop", data_dir=settings.data_dir)
        pipeline_service.add(session, platform.user, "shop", app=staging.name, stage="staging")
        pipeline_service.add(
            session, platform.user, "shop", app=production.name, stage="production"
        )
    entry = "e" * 40  # shop-staging-eee… fits Lambda's 64 characters; in production it would not
    pushed = platform.push(staging, python_app([entry]), commit="d" * 40)
    assert pushed.outcome.status == "succeeded", pushed.text
    with pytest.raises(PromotionRefused, match=f"'shop-production-eu-west-1-{entry}' is 66"):
        _promote(platform, staging)
    assert _builds(platform, production, "promotion") == 0
    names = [f["FunctionName"] for f in platform.lambda_client.list_functions()["Functions"]]
    assert not [name for name in names if name.startswith("shop-production")]
