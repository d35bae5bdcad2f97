from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.db.models import App, User
from tests.support import factories

Auth = dict[str, str]


class TestCreate:
    def test_creates_and_shows_the_app(self, client: TestClient, auth: Auth) -> None:
        response = client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["name"] == "thumbs"
        assert body["region"] == "us-east-1"
        assert body["architecture"] == "x86_64"
        assert body["role_arn"] == "arn:aws:iam::123456789012:role/lambda-basic"
        assert body["git_url"].endswith("/thumbs")
        assert client.get("/v1/apps/thumbs", headers=auth).json()["name"] == "thumbs"

    def test_duplicate_name_is_a_conflict(self, client: TestClient, auth: Auth) -> None:
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        response = client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        assert response.status_code == 409
        assert response.json() == {
            "error": "AppExists",
            "detail": "app 'thumbs' already exists; choose another name",
        }

    def test_invalid_names_are_refused_with_the_rule(self, client: TestClient, auth: Auth) -> None:
        for bad in ("ab", "Thumbs", "1thumbs", "thumbs-", "a" * 31, "th_umbs", "th--umbs"):
            response = client.post("/v1/apps", json={"name": bad}, headers=auth)
            assert response.status_code == 422, bad
            detail = response.json()["detail"]
            assert detail.startswith("name: "), detail
            assert "lowercase letters, digits and dashes" in detail or "two dashes" in detail

    def test_arm64_and_region(self, client: TestClient, auth: Auth) -> None:
        body = {"name": "thumbs", "architecture": "arm64", "region": "eu-west-1"}
        created = client.post("/v1/apps", json=body, headers=auth).json()
        assert (created["architecture"], created["region"]) == ("arm64", "eu-west-1")

    def test_unknown_architecture_names_the_field(self, client: TestClient, auth: Auth) -> None:
        response = client.post(
            "/v1/apps", json={"name": "thumbs", "architecture": "sparc"}, headers=auth
        )
        assert response.status_code == 422
        assert response.json()["detail"].startswith("architecture: ")

    def test_a_pinned_runtime_is_kept_and_one_lambda_refuses_is_named(
        self, client: TestClient, auth: Auth
    ) -> None:
        body = {"name": "thumbs", "runtime": "python3.12"}
        created = client.post("/v1/apps", json=body, headers=auth)
        assert created.status_code == 201, created.text
        assert created.json()["runtime"] == "python3.12"
        retired = client.post(
            "/v1/apps", json={"name": "legacy", "runtime": "python3.9"}, headers=auth
        )
        assert retired.status_code == 422, retired.text
        assert "python3.9 (--runtime) is no longer accepted by Lambda" in retired.json()["detail"]


class TestListAndAccess:
    def test_lists_only_the_callers_apps(
        self, client: TestClient, auth: Auth, make_user: Callable[..., tuple[User, Auth]]
    ) -> None:
        _, bob = make_user("bob@example.com")
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        client.post("/v1/apps", json={"name": "bobs-app"}, headers=bob)
        assert [a["name"] for a in client.get("/v1/apps", headers=auth).json()] == ["thumbs"]
        _, admin = make_user("root@example.com", admin=True)
        names = [a["name"] for a in client.get("/v1/apps", headers=admin).json()]
        assert names == ["bobs-app", "thumbs"]

    def test_other_users_app_is_forbidden(
        self, client: TestClient, auth: Auth, make_user: Callable[..., tuple[User, Auth]]
    ) -> None:
        _, bob = make_user("bob@example.com")
        client.post("/v1/apps", json={"name": "bobs-app"}, headers=bob)
        response = client.get("/v1/apps/bobs-app", headers=auth)
        assert response.status_code == 403
        assert response.json()["detail"] == (
            "permission denied: you are not a collaborator of 'bobs-app'; its owner or an "
            "admin may add you (`laambda access:add alice@example.com -a bobs-app`)"
        )
        assert (
            client.patch("/v1/apps/bobs-app/config", json={"AA": "1"}, headers=auth).status_code
            == 403
        )

    def test_missing_app_is_404(self, client: TestClient, auth: Auth) -> None:
        response = client.get("/v1/apps/nope", headers=auth)
        assert response.status_code == 404
        assert response.json()["detail"] == "app 'nope' does not exist"


class TestAuth:
    def test_no_token_is_401(self, client: TestClient) -> None:
        response = client.get("/v1/apps")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_wrong_token_is_401(self, client: TestClient) -> None:
        response = client.get("/v1/apps", headers={"Authorization": "Bearer lmb_nope"})
        assert response.status_code == 401
        assert "invalid token" in response.json()["detail"]

    def test_health_needs_no_token(self, client: TestClient) -> None:
        parts = client.get("/health").json()["parts"]
        assert parts["database"] == {"status": "up"}
        assert "workers" not in parts  # releases are applied inline: no worker is needed


class TestDestroy:
    def test_destroy_removes_the_app(self, client: TestClient, auth: Auth) -> None:
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        client.patch("/v1/apps/thumbs/config", json={"AA": "1"}, headers=auth)
        destroyed = client.delete("/v1/apps/thumbs", headers=auth)
        assert destroyed.status_code == 200, destroyed.text
        assert destroyed.json()["name"] == "thumbs"
        assert client.get("/v1/apps/thumbs", headers=auth).status_code == 404

    def test_refused_while_a_build_runs(
        self, client: TestClient, auth: Auth, db: Session, app_row: App
    ) -> None:
        build = factories.build(app_id=app_row.id, status="running")
        db.commit()
        response = client.delete("/v1/apps/thumbs", headers=auth)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"build {build.id} of 'thumbs' is under way: cancel it "
            f"(`laambda builds:cancel {build.id} -a thumbs`) or let it finish, then destroy"
        )
        assert client.get("/v1/apps/thumbs", headers=auth).status_code == 200
