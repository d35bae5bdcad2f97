"""The dashboard over HTTP without a browser: sign-in rules, masking, paging and speed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.base import utcnow
from laambda.db.models import App, Release, User, WebSession
from laambda.web.csrf import csrf_token
from laambda.web.deps import COOKIE
from tests.support import factories
from tests.support.api import Auth, session_cookie


def _signed_in(client: TestClient, db: Session, user: User, settings: Settings) -> None:
    client.cookies.set(COOKIE, session_cookie(db, user, settings))


class TestSignIn:
    def test_a_link_is_good_once(self, client: TestClient, auth: Auth) -> None:
        made = client.post("/v1/dashboard/sign-in-links?app=thumbs", headers=auth)
        assert made.status_code == 201, made.text
        path = made.json()["path"]
        assert path.endswith("?next=/apps/thumbs")
        first = client.get(path, follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"] == "/apps/thumbs"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        client.cookies.clear()
        again = client.get(path, follow_redirects=False)
        assert again.status_code == 401
        assert "already used or has expired" in again.text

    def test_an_expired_link_is_refused(self, client: TestClient, auth: Auth, db: Session) -> None:
        path = client.post("/v1/dashboard/sign-in-links", headers=auth).json()["path"]
        for row in db.scalars(select(WebSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 401
        assert COOKIE not in answer.cookies

    def test_links_need_an_api_token(self, client: TestClient) -> None:
        answer = client.post("/v1/dashboard/sign-in-links")
        assert answer.status_code == 401
        assert answer.json()["error"] == "NotAuthenticated"

    def test_a_link_sends_only_to_this_site(self, client: TestClient, auth: Auth) -> None:
        path = client.post("/v1/dashboard/sign-in-links", headers=auth).json()["path"]
        answer = client.get(path + "?next=//evil.example/x", follow_redirects=False)
        assert answer.headers["location"] == "/"

    def test_the_token_form_needs_the_cookie_it_was_served_with(self, client: TestClient) -> None:
        page = client.get("/sign-in")
        nonce = page.text.split('name="csrf" value="')[1].split('"')[0]
        client.cookies.clear()  # a form posted from another site has no such cookie
        answer = client.post("/sign-in", data={"token": "lmb_x", "csrf": nonce})
        assert answer.status_code == 403
        assert "came from another site" in answer.text

    def test_pages_send_strangers_to_sign_in(self, client: TestClient) -> None:
        for path in ("/", "/apps/thumbs/config", "/apps/thumbs/builds/1/events"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/sign-in?next=/")


def test_docs_load_nothing_from_another_site(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text
    assert "https://" not in page.text
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text[:5000]


@pytest.mark.usefixtures("app_row")
def test_config_values_stay_masked_but_the_one_revealed(
    client: TestClient, db: Session, alice: tuple[User, Auth], api_settings: Settings
) -> None:
    changes = {"BUCKET": "photos-7f3a", "TOKEN": "s3cr3t-value"}
    assert client.patch("/v1/apps/thumbs/config", json=changes, headers=alice[1]).is_success
    _signed_in(client, db, alice[0], api_settings)
    masked = client.get("/apps/thumbs/config")
    assert masked.status_code == 200
    assert "photos-7f3a" not in masked.text
    assert "s3cr3t-value" not in masked.text
    assert masked.headers["cache-control"] == "no-store"
    assert masked.headers["x-frame-options"] == "DENY"  # no rollback button in a frame
    assert "frame-ancestors 'none'" in masked.headers["content-security-policy"]
    revealed = client.get("/apps/thumbs/config?reveal=BUCKET")
    assert "photos-7f3a" in revealed.text
    assert "s3cr3t-value" not in revealed.text


def test_releases_page_of_200_releases_is_paged_and_fast(
    client: TestClient,
    db: Session,
    alice: tuple[User, Auth],
    app_row: App,
    api_settings: Settings,
) -> None:
    config = Cipher(api_settings.secret_key).encrypt_json({"BUCKET": "photos"})
    db.add_all(
        Release(
            app_id=app_row.id,
            version=version,
            kind="config",
            description=f"Set BUCKET ({version})",
            config_encrypted=config,
            function_settings={},
            status="succeeded",
            user_id=alice[0].id,
        )
        for version in range(1, 201)
    )
    db.commit()
    _signed_in(client, db, alice[0], api_settings)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        first = client.get("/apps/thumbs/releases")
        timings.append(time.perf_counter() - started)
    assert first.status_code == 200
    assert statistics.median(timings) < 0.2, timings
    assert "v200" in first.text
    assert "v175" not in first.text  # 25 a page
    assert "Older →" in first.text
    last = client.get("/apps/thumbs/releases?page=8")
    assert "v1<" in last.text
    assert "Roll back to v1" not in last.text  # no build, nothing to roll back to
    assert "Older →" not in last.text


def test_a_build_log_is_shown_as_text(
    client: TestClient, db: Session, alice: tuple[User, Auth], app_row: App, api_settings: Settings
) -> None:
    build = factories.build(
        app_id=app_row.id, status="failed", log="<script>alert(1)</script>\n", error="<b>no</b>"
    )
    db.commit()
    _signed_in(client, db, alice[0], api_settings)
    page = client.get(f"/apps/thumbs/builds/{build.id}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert "<b>no</b>" not in page.text


def test_forms_for_another_users_app_are_refused(
    client: TestClient,
    db: Session,
    make_user: Callable[..., tuple[User, Auth]],
    app_row: App,
    api_settings: Settings,
) -> None:
    bob, _ = make_user("bob@example.com")
    _signed_in(client, db, bob, api_settings)
    csrf = csrf_token(api_settings.secret_key, client.cookies[COOKIE])
    for path, form in (
        ("/apps/thumbs/rollback", {"version": "1"}),
        ("/apps/thumbs/config", {"key": "DEBUG", "value": "1"}),
        ("/apps/thumbs/config/unset", {"key": "DEBUG"}),
    ):
        answer = client.post(path, data={"csrf": csrf, **form}, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "you are not a collaborator of &#39;thumbs&#39;" in answer.text
    events = client.get(f"/apps/thumbs/builds/{factories.build(app_id=app_row.id).id}/events")
    assert events.status_code == 403
    assert db.scalars(select(Release).where(Release.app_id == app_row.id)).all() == []


def test_an_uploaded_build_says_so(
    client: TestClient, db: Session, alice: tuple[User, Auth], app_row: App, api_settings: Settings
) -> None:
    build = factories.build(app_id=app_row.id, status="succeeded", commit=None, origin="upload")
    db.commit()
    _signed_in(client, db, alice[0], api_settings)
    assert "uploaded (laambda deploy)" in client.get(f"/apps/thumbs/builds/{build.id}").text
    assert "uploaded" in client.get("/apps/thumbs/builds").text


def test_an_uploads_unverified_commit_label_is_shown_as_such(
    client: TestClient, db: Session, alice: tuple[User, Auth], app_row: App, api_settings: Settings
) -> None:
    label = "1111111111111111111111111111111111111111"
    build = factories.build(
        app_id=app_row.id, status="succeeded", commit=None, commit_label=label, origin="upload"
    )
    db.commit()
    _signed_in(client, db, alice[0], api_settings)
    page = client.get(f"/apps/thumbs/builds/{build.id}").text
    assert f'{label[:12]} <span class="muted">unverified</span>' in page
    listed = client.get("/apps/thumbs/builds").text
    assert f'{label[:7]} <span class="muted">unverified</span>' in listed
