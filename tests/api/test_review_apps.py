"""A pipeline's review apps and review config over the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import App, AuditEvent, Pipeline, User
from laambda.errors import InvalidInput
from laambda.services.review_app import review_app_service
from tests.support import factories, released
from tests.support.pipelines import add_pipeline

Auth = dict[str, str]
DEPLOYED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def api_settings(database_url: str, moto_url: str, settings: Settings) -> Settings:
    """Destroying a pipeline deletes its repository's copy in the object store: moto's S3."""
    return released.api_settings(database_url, moto_url, settings.data_dir).model_copy(
        update={"artifact_bucket": settings.artifact_bucket}
    )


def test_enable_list_and_destroy(
    client: TestClient,
    db: Session,
    alice: tuple[User, Auth],
    app_row: App,
    make_user: Callable[..., tuple[User, Auth]],
) -> None:
    auth = alice[1]
    pipeline = add_pipeline(db, "shop", alice[0], follow={app_row.name: ("staging", "develop")})
    db.commit()
    off = client.get("/v1/pipelines/shop/review-apps", headers=auth)
    assert off.status_code == 200, off.text
    assert off.json() == {"pipeline": "shop", "enabled": False, "ttl_seconds": None, "apps": []}

    bad = client.patch(
        "/v1/pipelines/shop/review-apps", json={"enabled": True, "ttl": "soon"}, headers=auth
    )
    assert bad.status_code == 422
    assert "'soon' is not a duration" in bad.json()["detail"]
    on = client.patch(
        "/v1/pipelines/shop/review-apps", json={"enabled": True, "ttl": "3d"}, headers=auth
    )
    assert on.status_code == 200, on.text
    assert (on.json()["enabled"], on.json()["ttl_seconds"]) == (True, 3 * 86400)

    review = factories.app(
        name="shop-feature-x",
        owner_id=alice[0].id,
        pipeline_id=pipeline.id,
        stage="review",
        branch="feature/x",
        review_app=True,
        last_deployed_at=DEPLOYED,
    )
    db.commit()
    review_id, staging_id = review.id, app_row.id
    listed = client.get("/v1/pipelines/shop/review-apps", headers=auth).json()["apps"]
    assert [(a["name"], a["branch"]) for a in listed] == [("shop-feature-x", "feature/x")]
    expires = datetime.fromisoformat(listed[0]["expires_at"])
    assert expires == DEPLOYED + timedelta(days=3)

    # a stranger is not told the pipeline exists, and changes nothing
    bob = make_user("bob@example.com")[1]
    assert client.get("/v1/pipelines/shop/review-apps", headers=bob).status_code == 404
    refused = client.delete("/v1/pipelines/shop/review-apps/feature/x", headers=bob)
    assert refused.status_code == 404
    # a followed branch that is no review app is not destroyed here
    assert client.delete("/v1/pipelines/shop/review-apps/develop", headers=auth).status_code == 404

    destroyed = client.delete("/v1/pipelines/shop/review-apps/feature/x", headers=auth)
    assert destroyed.status_code == 200, destroyed.text
    assert destroyed.json()["name"] == "shop-feature-x"
    db.expire_all()
    assert db.get(App, review_id) is None
    assert db.get(App, staging_id) is not None
    trail = db.scalars(select(AuditEvent.action).where(AuditEvent.app_name == "shop-feature-x"))
    assert {"reviewapp.destroy", "app.destroy"} <= set(trail)
    gone = client.delete("/v1/pipelines/shop/review-apps/feature/x", headers=auth)
    assert gone.status_code == 404
    assert "has no review app of 'feature/x'" in gone.json()["detail"]
    missing = client.get("/v1/pipelines/nope/review-apps", headers=auth)
    assert missing.status_code == 404
    assert "`laambda pipelines` lists yours" in missing.json()["detail"]


def test_review_config_is_masked_and_never_in_the_trail(
    client: TestClient,
    db: Session,
    alice: tuple[User, Auth],
    make_user: Callable[..., tuple[User, Auth]],
) -> None:
    auth = alice[1]
    add_pipeline(db, "shop", alice[0], follow={})
    db.commit()
    url = "/v1/pipelines/shop/review-config"
    changed = client.patch(url, json={"BUCKET": "previews", "DEBUG": "1"}, headers=auth)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"pipeline": "shop", "changed": ["BUCKET", "DEBUG"]}
    assert client.get(url, headers=auth).json() == {"BUCKET": "********", "DEBUG": "********"}
    unset = client.patch(url, json={"DEBUG": None}, headers=auth)
    assert unset.json()["changed"] == ["DEBUG"]
    assert client.get(url, params={"reveal": "true"}, headers=auth).json() == {"BUCKET": "previews"}
    invalid = client.patch(url, json={"AWS_REGION": "x"}, headers=auth)
    assert invalid.status_code == 422
    details = db.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "reviewconfig.change")
    ).all()
    assert [d["keys"] for d in details] == [["BUCKET", "DEBUG"], ["DEBUG"]]
    assert "previews" not in str(details)
    bob = make_user("bob@example.com")[1]
    assert client.patch(url, json={"X": "1"}, headers=bob).status_code == 404


def test_destroying_a_pipeline_destroys_its_review_apps_and_keeps_its_other_apps(
    client: TestClient, db: Session, alice: tuple[User, Auth], app_row: App
) -> None:
    pipeline = add_pipeline(db, "shop", alice[0], follow={app_row.name: ("staging", "develop")})
    review = factories.app(
        name="shop-feature-y",
        owner_id=alice[0].id,
        pipeline_id=pipeline.id,
        stage="review",
        branch="feature/y",
        review_app=True,
    )
    db.commit()
    review_id, staging_id = review.id, app_row.id

    gone = client.delete("/v1/pipelines/shop", headers=alice[1])
    assert gone.status_code == 200, gone.text
    assert gone.json() == {
        "name": "shop",
        "detached": [app_row.name],
        "destroyed": ["shop-feature-y"],
    }
    db.expire_all()
    assert db.get(App, review_id) is None
    staging = db.get(App, staging_id)
    assert staging is not None
    assert staging.pipeline_id is None
    trail = db.scalars(select(AuditEvent.detail).where(AuditEvent.action == "reviewapp.destroy"))
    assert [detail["reason"] for detail in trail] == ["pipelines:destroy"]


def _create(
    db: Session, pipeline: Pipeline, user: User, settings: Settings, branch: str, **kw: Any
) -> App:
    return review_app_service.create(
        db,
        pipeline,
        branch=branch,
        pusher=user,
        settings=settings,
        cipher=Cipher(settings.secret_key),
        **kw,
    )


def test_review_app_names_never_share_function_names_with_other_apps(
    db: Session,
    alice: tuple[User, Auth],
    app_row: App,
    api_settings: Settings,
    make_user: Callable[..., tuple[User, Auth]],
) -> None:
    pipeline = add_pipeline(
        db, "shop", alice[0], follow={app_row.name: ("staging", "develop")}, review_apps=True
    )
    eve = make_user("eve@example.com")[0]
    # eve's shop-feature with entry signup-web owns the function shop-feature-signup-web
    factories.app(name="shop-feature", owner_id=eve.id)
    # and an app whose name starts with the plain candidate would share functions too
    factories.app(name="shop-fix-login-web", owner_id=eve.id)
    db.commit()
    signup = _create(db, pipeline, alice[0], api_settings, "feature/signup", entries=["web"])
    assert not signup.name.startswith("shop-feature-")
    assert signup.name.startswith("shop-")
    fix = _create(db, pipeline, alice[0], api_settings, "fix/login", entries=["web"])
    assert fix.name != "shop-fix-login"
    assert not "shop-fix-login-web".startswith(f"{fix.name}-")

    # an app named after the pipeline takes a name only when its built entries would clash
    shop = factories.app(name="shop", owner_id=alice[0].id)
    factories.build(app_id=shop.id, procfile={"docs-web": "main.handler"})
    db.commit()
    docs = _create(db, pipeline, alice[0], api_settings, "docs", entries=["web"])
    assert docs.name != "shop-docs"
    api = _create(db, pipeline, alice[0], api_settings, "api", entries=["web"])
    assert api.name == "shop-api"

    # a Lambda function of the name, made outside laambda, takes it as well
    held = {"shop-held-web"}
    made = _create(
        db,
        pipeline,
        alice[0],
        api_settings,
        "held",
        entries=["web"],
        function_exists=held.__contains__,
    )
    assert made.name != "shop-held"


def test_the_list_shows_how_the_last_deploy_went(
    client: TestClient, db: Session, alice: tuple[User, Auth], app_row: App
) -> None:
    pipeline = add_pipeline(db, "shop", alice[0], follow={app_row.name: ("staging", "develop")})
    review = factories.app(
        name="shop-feature-z",
        owner_id=alice[0].id,
        pipeline_id=pipeline.id,
        stage="review",
        branch="feature/z",
        review_app=True,
        last_deployed_at=DEPLOYED,
    )
    db.commit()
    listed = client.get("/v1/pipelines/shop/review-apps", headers=alice[1]).json()["apps"]
    assert listed[0]["last_deploy"] is None
    factories.build(app_id=review.id, status="failed")
    db.commit()
    listed = client.get("/v1/pipelines/shop/review-apps", headers=alice[1]).json()["apps"]
    assert listed[0]["last_deploy"] == "failed"


def test_only_review_apps_in_the_review_stage_of_a_pipeline_expire_or_are_destroyed(
    db: Session, alice: tuple[User, Auth], app_row: App, api_settings: Settings
) -> None:
    pipeline = add_pipeline(
        db,
        "shop",
        alice[0],
        follow={app_row.name: ("staging", "develop")},
        review_apps=True,
        ttl_seconds=60,
    )
    old = DEPLOYED - timedelta(days=30)
    due = factories.app(
        name="shop-due",
        owner_id=alice[0].id,
        pipeline_id=pipeline.id,
        stage="review",
        branch="due",
        review_app=True,
        last_deployed_at=old,
    )
    # rows flagged review_app that an older laambda let move or leave: never destroyed as one
    moved = factories.app(
        name="shop-grad",
        owner_id=alice[0].id,
        pipeline_id=pipeline.id,
        stage="production",
        branch=None,
        review_app=True,
        last_deployed_at=old,
    )
    loose = factories.app(
        name="shop-loose",
        owner_id=alice[0].id,
        stage="review",
        review_app=True,
        last_deployed_at=old,
    )
    db.commit()
    assert [app.name for app in review_app_service.expired(db)] == [due.name]
    for row in (moved, loose):
        with pytest.raises(InvalidInput, match="is not a review app"):
            review_app_service.destroy(
                db,
                row,
                actor=None,
                reason="TTL passed",
                settings=api_settings,
                store=None,  # type: ignore[arg-type]  # refused before it is used
                cloud=None,  # type: ignore[arg-type]
            )
    assert [app.name for app in review_app_service.review_apps(db, pipeline)] == [due.name]
