"""App-scoped deploy tokens: made by the app's collaborators, shown once, listed and revoked;
they may start and read builds of their app and nothing else, and expire."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.base import utcnow
from laambda.db.models import ApiToken, App, AuditEvent, User
from tests.support import factories
from tests.support.api import Auth

REFUSED = "this token may only deploy thumbs"
# what a deploy token may do: start builds of its app and read them
ALLOWED = {
    ("POST", "/v1/apps/{app}/builds"),
    ("GET", "/v1/apps/{app}/builds"),
    ("GET", "/v1/apps/{app}/builds/{build_id}"),
    ("GET", "/v1/apps/{app}/builds/{build_id}/stream"),
}


def _deploy_token(client: TestClient, auth: Auth, app: str = "thumbs", **body: object) -> Auth:
    made = client.post("/v1/tokens", json={"app": app, **body}, headers=auth)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


@pytest.mark.usefixtures("app_row")
class TestCreate:
    def test_shown_once_listed_with_its_app_scope_and_expiry(
        self, client: TestClient, auth: Auth, db: Session
    ) -> None:
        made = client.post(
            "/v1/tokens",
            json={"name": "github", "app": "thumbs", "expires_in_days": 90},
            headers=auth,
        ).json()
        assert made["token"].startswith("lmb_")
        assert (made["app"], made["scope"], made["name"]) == ("thumbs", "deploy", "github")
        listed = client.get("/v1/tokens", headers=auth)
        assert made["token"] not in listed.text
        row = next(r for r in listed.json() if r["id"] == made["id"])
        assert (row["app"], row["scope"], row["prefix"]) == ("thumbs", "deploy", made["token"][:8])
        days = (row["expires_at"][:10], (utcnow() + timedelta(days=90)).date().isoformat())
        assert days[0] == days[1]
        assert made["token"] not in db.scalars(select(ApiToken.token_hash)).all()
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "token.create")).all()[-1]
        assert event.app_name == "thumbs"
        assert event.detail["scope"] == "deploy"

    def test_only_collaborators_of_the_app(
        self, client: TestClient, make_user: Callable[..., tuple[User, Auth]]
    ) -> None:
        _, bob = make_user("bob@example.com")
        answer = client.post("/v1/tokens", json={"app": "thumbs"}, headers=bob)
        assert answer.status_code == 403
        assert "you are not a collaborator of 'thumbs'" in answer.json()["detail"]

    def test_revoked_token_is_refused(self, client: TestClient, auth: Auth) -> None:
        token = _deploy_token(client, auth)
        assert client.get("/v1/apps/thumbs/builds", headers=token).status_code == 200
        made = next(r for r in client.get("/v1/tokens", headers=auth).json() if r["app"])
        assert client.delete(f"/v1/tokens/{made['id']}", headers=auth).status_code == 204
        assert client.get("/v1/apps/thumbs/builds", headers=token).status_code == 401


@pytest.mark.usefixtures("app_row")
class TestScope:
    def test_reads_its_apps_builds(self, client: TestClient, auth: Auth, app_row: App) -> None:
        build = factories.build(app_id=app_row.id, log="-----> hello\n")
        token = _deploy_token(client, auth)
        assert [b["id"] for b in client.get("/v1/apps/thumbs/builds", headers=token).json()] == [
            build.id
        ]
        shown = client.get(f"/v1/apps/thumbs/builds/{build.id}", headers=token).json()
        assert shown["log"] == "-----> hello\n"

    def test_refused_on_another_app(
        self, client: TestClient, auth: Auth, db: Session, alice: tuple[User, Auth]
    ) -> None:
        factories.app(name="shop", owner_id=alice[0].id)
        db.commit()
        token = _deploy_token(client, auth)
        for answer in (
            client.get("/v1/apps/shop/builds", headers=token),
            client.post("/v1/apps/shop/builds", content=b"x", headers=token),
        ):
            assert answer.status_code == 403
            assert answer.json()["detail"].startswith(REFUSED)

    def test_refused_on_every_other_route(
        self, client: TestClient, api: FastAPI, auth: Auth
    ) -> None:
        """Every route of the API but the four above, found in its OpenAPI route list (so a
        new route is covered the day it is added), refuses the token on its own app."""
        token = _deploy_token(client, auth)
        tried = 0
        for template, operations in api.openapi()["paths"].items():
            if not template.startswith("/v1/"):
                continue
            for method in (m.upper() for m in operations):
                if (method, template) in ALLOWED:
                    continue
                path = re.sub(r"\{(\w+)\}", _sample, template)
                answer = client.request(method, path, headers=token)
                assert answer.status_code == 403, (method, path, answer.text)
                assert answer.json()["detail"].startswith(REFUSED), (method, path)
                tried += 1
        assert tried > 40

    def test_named_routes(self, client: TestClient, auth: Auth) -> None:
        token = _deploy_token(client, auth)
        for method, path, body in [
            ("PATCH", "/v1/apps/thumbs/config", {"A": "1"}),
            ("GET", "/v1/apps/thumbs/config", None),
            ("GET", "/v1/apps/thumbs/releases", None),
            ("POST", "/v1/apps/thumbs/rollback", {}),
            ("GET", "/v1/tokens", None),
            ("POST", "/v1/tokens", {"name": "more"}),
            ("GET", "/v1/me", None),
            ("DELETE", "/v1/apps/thumbs", None),
        ]:
            answer = client.request(method, path, json=body, headers=token)
            assert (answer.status_code, answer.json()["detail"][: len(REFUSED)]) == (
                403,
                REFUSED,
            ), (method, path)

    def test_dashboard_sign_in_refuses_it(self, client: TestClient, auth: Auth) -> None:
        token = _deploy_token(client, auth)["Authorization"].removeprefix("Bearer ")
        page = client.get("/sign-in")
        nonce = page.text.split('name="csrf" value="')[1].split('"')[0]
        answer = client.post("/sign-in", data={"token": token, "csrf": nonce})
        assert answer.status_code == 403
        assert f"{REFUSED}: it may start builds of thumbs and read them" in answer.text
        assert "signed in" not in answer.text.lower()
        assert "laambda_session" not in answer.headers.get("set-cookie", "")


@pytest.mark.usefixtures("app_row")
class TestExpiry:
    def test_expired_token_is_refused_saying_so(
        self, client: TestClient, auth: Auth, db: Session
    ) -> None:
        token = _deploy_token(client, auth, name="ci", expires_in_days=1)
        row = db.scalars(select(ApiToken).where(ApiToken.name == "ci")).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
        answer = client.get("/v1/apps/thumbs/builds", headers=token)
        assert answer.status_code == 401
        assert "expired on" in answer.json()["detail"]
        assert "laambda tokens:create" in answer.json()["detail"]


def _sample(match: re.Match[str]) -> str:
    return "thumbs" if match[1] == "app" else "1"
