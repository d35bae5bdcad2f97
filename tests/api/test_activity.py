"""The audit trail is complete (every change, by whom) and shown only to who may see it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.support import released

Auth = dict[str, str]
MakeUser = Callable[..., tuple[User, Auth]]


@pytest.fixture
def api_settings(database_url: str, moto_url: str) -> Settings:
    return released.api_settings(database_url, moto_url)


@pytest.fixture
def app(db: Session, alice: tuple[User, Auth], settings: Settings) -> App:
    return released.recorded_app(db, alice[0], settings)


def actions(rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(row["action"], row["user"], row["app"]) for row in rows]


class TestEveryChangeIsRecorded:
    def test_token_create_and_delete_without_the_token(
        self, client: TestClient, auth: Auth
    ) -> None:
        made = client.post("/v1/tokens", json={"name": "ci"}, headers=auth).json()
        assert client.delete(f"/v1/tokens/{made['id']}", headers=auth).status_code == 204
        response = client.get("/v1/activity", headers=auth)
        assert response.status_code == 200
        rows = response.json()
        assert actions(rows[:2]) == [
            ("token.delete", "alice@example.com", None),
            ("token.create", "alice@example.com", None),
        ]
        assert rows[0]["detail"]["name"] == rows[1]["detail"]["name"] == "ci"
        assert made["token"] not in response.text

    def test_event_sources_added_and_removed(
        self, client: TestClient, auth: Auth, app: App
    ) -> None:
        base = f"/v1/apps/{app.name}/functions/create/event-sources"
        added = client.post(base, json={"source": "schedule:rate(1 hour)"}, headers=auth)
        assert added.status_code == 201, added.text
        client.post(base, json={"source": "http"}, headers=auth)
        client.delete(base, params={"source": "schedule:rate(1 hour)"}, headers=auth)
        client.delete(base, params={"all": "true"}, headers=auth)
        rows = client.get(f"/v1/apps/{app.name}/activity", headers=auth).json()
        assert [(r["action"], r["detail"]["source"]) for r in rows[:4]] == [
            ("event_source.remove", "http"),
            ("event_source.remove", "schedule:rate(1 hour)"),
            ("event_source.add", "http"),
            ("event_source.add", "schedule:rate(1 hour)"),
        ]
        assert {r["detail"]["function"] for r in rows[:4]} == {"create"}
        assert {r["user"] for r in rows[:4]} == {"alice@example.com"}

    def test_a_cache_purge(self, client: TestClient, auth: Auth, app: App) -> None:
        assert client.delete(f"/v1/apps/{app.name}/build-cache", headers=auth).status_code == 200
        newest = client.get(f"/v1/apps/{app.name}/activity", headers=auth).json()[0]
        assert (newest["action"], newest["user"], newest["app"]) == (
            "build_cache.purge",
            "alice@example.com",
            app.name,
        )
        assert newest["detail"] == {"purged": 0}


class TestWhoSeesWhat:
    def test_admins_see_everything_others_their_own_and_their_apps(
        self, client: TestClient, auth: Auth, make_user: MakeUser
    ) -> None:
        admin = make_user("root@example.com", admin=True)[1]
        bob = make_user("bob@example.com")[1]
        client.post("/v1/apps", json={"name": "alices"}, headers=auth)
        client.post("/v1/apps", json={"name": "shared"}, headers=auth)
        client.post(
            "/v1/apps/shared/collaborators", json={"email": "bob@example.com"}, headers=auth
        )
        client.post("/v1/tokens", json={"name": "bobs"}, headers=bob)
        client.patch("/v1/apps/shared/config", json={"MODE": "1"}, headers=bob)

        seen_by_bob = actions(client.get("/v1/activity", headers=bob).json())
        assert ("token.create", "bob@example.com", None) in seen_by_bob
        assert ("release.config", "bob@example.com", "shared") in seen_by_bob
        assert ("access.add", "alice@example.com", "shared") in seen_by_bob
        assert not [a for a in seen_by_bob if a[2] == "alices"]
        assert ("token.create", "alice@example.com", None) not in seen_by_bob

        seen_by_admin = actions(client.get("/v1/activity", headers=admin).json())
        assert ("app.create", "alice@example.com", "alices") in seen_by_admin
        assert set(seen_by_bob) <= set(seen_by_admin)

        assert client.get("/v1/apps/alices/activity", headers=bob).status_code == 403

    def test_a_reused_app_name_does_not_show_the_old_apps_history(
        self, client: TestClient, auth: Auth, make_user: MakeUser
    ) -> None:
        bob = make_user("bob@example.com")[1]
        client.post("/v1/apps", json={"name": "reused"}, headers=auth)
        client.patch("/v1/apps/reused/config", json={"SECRET_NAME": "x"}, headers=auth)
        assert client.delete("/v1/apps/reused", headers=auth).status_code == 200
        assert client.post("/v1/apps", json={"name": "reused"}, headers=bob).status_code == 201
        rows = client.get("/v1/apps/reused/activity", headers=bob).json()
        assert actions(rows) == [("app.create", "bob@example.com", "reused")]
        assert not [
            a
            for a in actions(client.get("/v1/activity", headers=bob).json())
            if a[1] != "bob@example.com"
        ]
