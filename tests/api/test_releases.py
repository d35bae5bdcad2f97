from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.support.released import deploy, mark

Auth = dict[str, str]


class TestListing:
    @pytest.mark.usefixtures("app_row")
    def test_newest_first_and_paginated(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        for n in range(5):
            client.patch("/v1/apps/thumbs/config", json={"NN": str(n)}, headers=auth)
        page = client.get("/v1/apps/thumbs/releases?limit=2&offset=1", headers=auth).json()
        assert [r["version"] for r in page] == [4, 3]
        assert all(r["status"] == "succeeded" for r in page)

    @pytest.mark.usefixtures("app_row")
    def test_missing_version_is_404(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        response = client.get("/v1/apps/thumbs/releases/9", headers=auth)
        assert response.status_code == 404
        assert response.json()["detail"] == "app 'thumbs' has no release v9"


class TestDeployRelease:
    def test_deploy_description_names_the_commit(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings, commit="3f9c1ab0d2e4f6")
        body = client.get("/v1/apps/thumbs/releases/1", headers=auth).json()
        assert body["description"] == "Deploy 3f9c1ab"
        assert body["build_id"] is not None


class TestRollback:
    def test_rollback_restores_build_and_config(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        first = deploy(db, app_row, alice[0], api_settings, commit="aaaaaaa1")  # v1
        client.patch("/v1/apps/thumbs/config", json={"BUCKET": "old"}, headers=auth)  # v2
        deploy(db, app_row, alice[0], api_settings, commit="bbbbbbb2")  # v3
        client.patch("/v1/apps/thumbs/config", json={"BUCKET": "new"}, headers=auth)  # v4
        response = client.post("/v1/apps/thumbs/rollback", json={"version": 2}, headers=auth)
        assert response.status_code == 201, response.text
        release = response.json()
        assert (release["version"], release["description"]) == (5, "Rollback to v2")
        assert release["build_id"] == first.build_id
        assert release["rollback_of"] == 2
        assert release["release_phase"] is False  # a rollback skips it unless asked
        config = client.get("/v1/apps/thumbs/config?reveal=true", headers=auth).json()
        assert config == {"BUCKET": "old"}
        asked = client.post(
            "/v1/apps/thumbs/rollback", json={"version": 3, "run_release_phase": True}, headers=auth
        )
        assert asked.status_code == 201, asked.text
        assert (asked.json()["version"], asked.json()["release_phase"]) == (6, True)

    def test_default_target_is_the_release_before_and_skips_failed(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)  # v1
        v2 = deploy(db, app_row, alice[0], api_settings)  # v2
        deploy(db, app_row, alice[0], api_settings)  # v3 current
        mark(db, v2, "failed", "AccessDenied")
        response = client.post("/v1/apps/thumbs/rollback", json={}, headers=auth)
        assert response.json()["description"] == "Rollback to v1"

    def test_refuses_failed_release_with_reason(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        v2 = deploy(db, app_row, alice[0], api_settings)
        deploy(db, app_row, alice[0], api_settings)
        mark(db, v2, "failed", "role cannot be assumed by Lambda")
        response = client.post("/v1/apps/thumbs/rollback", json={"version": 2}, headers=auth)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            "cannot roll back 'thumbs': v2 failed to deploy: role cannot be assumed by Lambda; "
            "pick a release that succeeded"
        )
        history = client.get("/v1/apps/thumbs/releases", headers=auth).json()
        assert [r["status"] for r in history] == ["succeeded", "failed", "succeeded"]

    def test_refuses_release_without_build(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"AA": "1"}, headers=auth)  # v1, no build
        deploy(db, app_row, alice[0], api_settings)  # v2
        response = client.post("/v1/apps/thumbs/rollback", json={"version": 1}, headers=auth)
        assert response.status_code == 409
        assert "v1 has no build" in response.json()["detail"]
        nothing = client.post("/v1/apps/thumbs/rollback", json={}, headers=auth)
        assert nothing.json()["detail"] == (
            "cannot roll back 'thumbs': there is no earlier deployed release to roll back to"
        )
