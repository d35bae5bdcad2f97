"""Smoke checks through the API: set, listed, replaced, removed; refused for what no release
could check."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.support.released import deploy

Auth = dict[str, str]


class TestChecks:
    def test_set_list_replace_and_unset(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        releases = len(client.get("/v1/apps/thumbs/releases", headers=auth).json())
        put = client.put(
            "/v1/apps/thumbs/checks/create",
            json={"event": {"rawPath": "/health"}, "expect_status": 200},
            headers=auth,
        )
        assert put.status_code == 200, put.text
        assert put.json() == {
            "name": "create",
            "event": {"rawPath": "/health"},
            "expect_status": 200,
        }
        again = client.put("/v1/apps/thumbs/checks/create", json={"event": [1]}, headers=auth)
        assert again.json() == {"name": "create", "event": [1], "expect_status": None}
        listed = client.get("/v1/apps/thumbs/checks", headers=auth).json()
        assert listed == [{"name": "create", "event": [1], "expect_status": None}]
        # a check applies from the next release: setting one makes none
        assert len(client.get("/v1/apps/thumbs/releases", headers=auth).json()) == releases
        gone = client.delete("/v1/apps/thumbs/checks/create", headers=auth)
        assert gone.status_code == 204, gone.text
        assert client.get("/v1/apps/thumbs/checks", headers=auth).json() == []
        twice = client.delete("/v1/apps/thumbs/checks/create", headers=auth)
        assert twice.status_code == 404
        assert twice.json()["detail"] == "function 'create' of app 'thumbs' has no smoke check"

    def test_the_function_name_names_its_entry(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        put = client.put("/v1/apps/thumbs/checks/thumbs-create", json={"event": {}}, headers=auth)
        assert put.status_code == 200, put.text
        assert put.json()["name"] == "create"
        gone = client.delete("/v1/apps/thumbs/checks/thumbs-create", headers=auth)
        assert gone.status_code == 204, gone.text
        assert client.get("/v1/apps/thumbs/checks", headers=auth).json() == []

    def test_refused_for_unknown_functions_the_release_entry_and_bad_statuses(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        before = client.put("/v1/apps/thumbs/checks/create", json={"event": {}}, headers=auth)
        assert before.status_code == 404
        assert "none yet: push code with a Procfile first" in before.json()["detail"]
        deploy(
            db,
            app_row,
            alice[0],
            api_settings,
            procfile={"create": "main.create", "release": "main.migrate"},
        )
        missing = client.put("/v1/apps/thumbs/checks/nope", json={"event": {}}, headers=auth)
        assert missing.status_code == 404
        assert missing.json()["detail"] == (
            "app 'thumbs' has no function 'nope'; its functions: create"
        )
        phase = client.put("/v1/apps/thumbs/checks/release", json={"event": {}}, headers=auth)
        assert phase.status_code == 422
        assert "is the release phase" in phase.json()["detail"]
        status = client.put(
            "/v1/apps/thumbs/checks/create", json={"event": {}, "expect_status": 42}, headers=auth
        )
        assert status.status_code == 422

    def test_unset_names_an_unknown_function_like_every_function_route(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(
            db,
            app_row,
            alice[0],
            api_settings,
            procfile={"create": "main.create", "release": "main.migrate"},
        )
        unknown = client.delete("/v1/apps/thumbs/checks/nosuch", headers=auth)
        assert unknown.status_code == 404
        assert unknown.json() == {
            "error": "FunctionNotFound",
            "detail": "app 'thumbs' has no function 'nosuch'; its functions: create",
        }
        # an entry of the Procfile without a check: the check is what is missing
        for entry in ("create", "release"):
            none = client.delete(f"/v1/apps/thumbs/checks/{entry}", headers=auth)
            assert none.status_code == 404
            assert none.json() == {
                "error": "NotFound",
                "detail": f"function '{entry}' of app 'thumbs' has no smoke check",
            }
