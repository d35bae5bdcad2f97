"""Pipelines in the dashboard: the stages page in Chromium, and who may see it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import User
from laambda.db.session import session_scope
from laambda.services.pipeline import pipeline_service
from laambda.services.promotion import promotion_service
from laambda.web.deps import COOKIE
from tests.support.api import Auth, session_cookie
from tests.support.dashboard import Dashboard
from tests.support.platform import python_app

COMMIT = "c0ffee1" + "0" * 33


def test_the_pipeline_page_shows_stages_branches_and_live_releases(dashboard: Dashboard) -> None:
    platform = dashboard.platform
    staging = platform.create_app("shop-staging")
    platform.create_app("shop-prod")
    with session_scope(platform.sessions) as session:
        data = platform.worker.settings.data_dir
        pipeline_service.create(session, platform.user, name="shop", data_dir=data)
        for name, branch in (("shop-staging", "develop"), ("shop-prod", None)):
            pipeline_service.add(
                session, platform.user, "shop", app=name, stage=None, branch=branch
            )
    pushed = platform.push(staging, python_app(["web"]), COMMIT)
    assert pushed.outcome.status == "succeeded", pushed.text
    with session_scope(platform.sessions) as session:
        _, (promoted,) = promotion_service.promote(
            session,
            platform.user,
            app="shop-staging",
            to=None,
            cipher=Cipher(platform.worker.settings.secret_key),
            applier=platform.worker.queue,
            data_dir=platform.worker.settings.data_dir,
        )
        assert promoted.release is not None
        release_id = promoted.release.id
    assert platform.wait_release(release_id).status == "succeeded"

    context = dashboard.context()
    page = context.new_page()
    page.goto(dashboard.link(platform.user))
    page.get_by_role("link", name="Pipelines", exact=True).click()
    page.get_by_role("link", name="shop", exact=True).click()
    expect(page.get_by_role("heading", name="shop", exact=True)).to_be_visible()
    staging_row = page.locator('tr[data-stage="staging"]')
    for text in ("staging", "develop", "v1 Deploy c0ffee1", "c0ffee1"):
        expect(staging_row).to_contain_text(text)
    production = page.locator('tr[data-stage="production"]')
    for text in ("production", "main", "v1 Promote v1 of shop-staging", "c0ffee1"):
        expect(production).to_contain_text(text)
    expect(page.locator('tr[data-stage="development"]')).to_contain_text("no app")
    dashboard.shot(page, "pipeline")

    production.get_by_role("link", name="shop-prod").click()
    expect(page.get_by_role("heading", name="shop-prod")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Pipeline")
    expect(facts).to_contain_text("production")
    expect(facts).to_contain_text("main")
    context.close()


def test_a_pipeline_is_not_shown_to_others(
    client: TestClient,
    auth: Auth,
    db: Session,
    api_settings: Settings,
    make_user: Callable[..., tuple[User, Auth]],
) -> None:
    assert client.post("/v1/pipelines", json={"name": "shop"}, headers=auth).status_code == 201
    bob, _ = make_user("bob@example.com")
    client.cookies.set(COOKIE, session_cookie(db, bob, api_settings))
    assert client.get("/pipelines/shop").status_code == 404
    assert "shop" not in client.get("/pipelines").text.split("<main>")[1]
