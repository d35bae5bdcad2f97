from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, ConfigVar, Release
from laambda.services.release import release_service
from tests.support.released import mark

Auth = dict[str, str]


class TestSetAndUnset:
    @pytest.mark.usefixtures("app_row")
    def test_several_keys_make_one_release(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        response = client.patch(
            "/v1/apps/thumbs/config", json={"BUCKET": "photos", "TIMEOUT": "3"}, headers=auth
        )
        assert response.status_code == 200, response.text
        release = response.json()["release"]
        assert release["version"] == 1
        assert release["description"] == "Set BUCKET, TIMEOUT"
        assert release["user"] == "alice@example.com"
        unset = client.patch("/v1/apps/thumbs/config", json={"TIMEOUT": None}, headers=auth)
        assert unset.json()["release"]["description"] == "Unset TIMEOUT"
        both = client.patch(
            "/v1/apps/thumbs/config", json={"DEBUG": "1", "BUCKET": None}, headers=auth
        )
        assert both.json()["release"]["description"] == "Set DEBUG; unset BUCKET"
        versions = [
            r["version"] for r in client.get("/v1/apps/thumbs/releases", headers=auth).json()
        ]
        assert versions == [3, 2, 1]

    @pytest.mark.usefixtures("app_row")
    def test_values_are_masked_unless_asked(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"BUCKET": "photos"}, headers=auth)
        assert client.get("/v1/apps/thumbs/config", headers=auth).json() == {"BUCKET": "********"}
        revealed = client.get("/v1/apps/thumbs/config?reveal=true", headers=auth).json()
        assert revealed == {"BUCKET": "photos"}

    @pytest.mark.usefixtures("app_row")
    def test_nothing_changed_makes_no_release(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"BUCKET": "photos"}, headers=auth)
        again = client.patch("/v1/apps/thumbs/config", json={"BUCKET": "photos"}, headers=auth)
        assert again.status_code == 200
        assert again.json()["release"] is None
        assert again.json()["detail"].startswith("nothing changed")
        missing = client.patch("/v1/apps/thumbs/config", json={"NOPE": None}, headers=auth)
        assert missing.status_code == 200
        assert missing.json() == {"release": None, "detail": "nothing changed: NOPE is not set"}
        both = client.patch(
            "/v1/apps/thumbs/config", json={"BUCKET": "photos", "NOPE": None}, headers=auth
        )
        assert both.json()["detail"] == (
            "nothing changed: BUCKET already has the value given; NOPE is not set"
        )
        assert len(client.get("/v1/apps/thumbs/releases", headers=auth).json()) == 1

    @pytest.mark.usefixtures("app_row")
    def test_values_are_encrypted_at_rest(
        self, client: TestClient, auth: Auth, db: Session
    ) -> None:
        secret = "s3cr3t-value-never-plain"
        client.patch("/v1/apps/thumbs/config", json={"TOKEN": secret}, headers=auth)
        stored = db.scalars(select(ConfigVar.value_encrypted)).all()
        snapshots = db.scalars(select(Release.config_encrypted)).all()
        assert stored
        assert snapshots
        for blob in [*stored, *snapshots]:
            assert secret.encode() not in bytes(blob)

    @pytest.mark.usefixtures("app_row")
    def test_release_detail_shows_key_names_not_values(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"TOKEN": "hidden-value"}, headers=auth)
        detail = client.get("/v1/apps/thumbs/releases/1", headers=auth)
        assert detail.json()["config_keys"] == ["TOKEN"]
        assert "hidden-value" not in detail.text


class TestFailedChange:
    """A change whose release failed is not kept (the failure is recorded as the worker
    records it; tests/worker/test_failed_change.py fails them for real)."""

    def test_config_is_the_live_releases_again_and_the_next_release_its_own(
        self, client: TestClient, auth: Auth, db: Session, app_row: App
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"BUCKET": "photos"}, headers=auth)
        client.patch("/v1/apps/thumbs/config", json={"TRIGGER": "1", "BUCKET": None}, headers=auth)
        mark(db, release_service.get(db, app_row, 2), "failed", "smoke check failed")
        shown = client.get("/v1/apps/thumbs/config?reveal=true", headers=auth).json()
        assert shown == {"BUCKET": "photos"}
        other = client.patch("/v1/apps/thumbs/config", json={"OTHER": "1"}, headers=auth)
        assert other.json()["release"]["description"] == "Set OTHER"
        detail = client.get("/v1/apps/thumbs/releases/3", headers=auth).json()
        assert detail["config_keys"] == ["BUCKET", "OTHER"]
        assert client.get("/v1/apps/thumbs/config", headers=auth).json() == {
            "BUCKET": "********",
            "OTHER": "********",
        }

    def test_a_release_made_after_the_failed_one_keeps_what_it_was_made_from(
        self, client: TestClient, auth: Auth, db: Session, app_row: App
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"TRIGGER": "1"}, headers=auth)
        client.patch("/v1/apps/thumbs/config", json={"OTHER": "1"}, headers=auth)
        # v1 fails after v2 was made from the config that showed TRIGGER
        mark(db, release_service.get(db, app_row, 1), "failed", "smoke check failed")
        shown = client.get("/v1/apps/thumbs/config", headers=auth).json()
        assert sorted(shown) == ["OTHER", "TRIGGER"]


class TestValidation:
    @pytest.mark.usefixtures("app_row")
    def test_reserved_names_are_refused_by_name(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        for key in ("AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "LAMBDA_TASK_ROOT"):
            response = client.patch("/v1/apps/thumbs/config", json={key: "x"}, headers=auth)
            assert response.status_code == 422, key
            assert response.json()["detail"] == f"{key} is reserved by AWS Lambda and cannot be set"

    @pytest.mark.usefixtures("app_row")
    def test_invalid_names_are_refused(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        response = client.patch("/v1/apps/thumbs/config", json={"1BAD-KEY": "x"}, headers=auth)
        assert response.status_code == 422
        assert "'1BAD-KEY' is not a valid config var name" in response.json()["detail"]

    @pytest.mark.usefixtures("app_row")
    def test_over_four_kb_says_by_how_much(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"AA": "x" * 2000}, headers=auth)
        response = client.patch("/v1/apps/thumbs/config", json={"BB": "y" * 2100}, headers=auth)
        assert response.status_code == 422
        # Lambda measures {"AA":"x…","BB":"y…"}: 2000 + 2100 + 17 bytes of JSON = 4117 bytes
        assert "4117 bytes, 21 bytes over Lambda's limit of 4096 bytes" in response.json()["detail"]
        assert client.get("/v1/apps/thumbs/config", headers=auth).json() == {"AA": "********"}
        assert len(client.get("/v1/apps/thumbs/releases", headers=auth).json()) == 1

    @pytest.mark.usefixtures("app_row")
    def test_keys_and_values_of_4096_bytes_are_over_as_json(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        config = {"AA": "x" * 2046, "BB": "y" * 2046}
        response = client.patch("/v1/apps/thumbs/config", json=config, headers=auth)
        assert response.status_code == 422
        assert response.json()["detail"].startswith(
            "config vars would total 4109 bytes, 13 bytes over Lambda's limit of 4096 bytes"
        )
        assert client.get("/v1/apps/thumbs/config", headers=auth).json() == {}


class TestAudit:
    @pytest.mark.usefixtures("app_row")
    def test_activity_names_who_changed_what_without_values(
        self, client: TestClient, auth: Auth
    ) -> None:
        client.patch("/v1/apps/thumbs/config", json={"TOKEN": "very-secret"}, headers=auth)
        response = client.get("/v1/apps/thumbs/activity", headers=auth)
        assert response.status_code == 200
        newest = response.json()[0]
        assert newest["action"] == "release.config"
        assert newest["user"] == "alice@example.com"
        assert newest["detail"]["description"] == "Set TOKEN"
        assert "very-secret" not in response.text
