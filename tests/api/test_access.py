from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import ApiToken, User

Auth = dict[str, str]
ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
)


class TestKeys:
    def test_add_list_remove(self, client: TestClient, auth: Auth) -> None:
        added = client.post("/v1/keys", json={"public_key": ED25519}, headers=auth)
        assert added.status_code == 201, added.text
        key = added.json()
        assert key["name"] == "alice@laptop"
        assert key["fingerprint"].startswith("SHA256:")
        assert [k["fingerprint"] for k in client.get("/v1/keys", headers=auth).json()] == [
            key["fingerprint"]
        ]
        assert client.delete(f"/v1/keys/{key['fingerprint']}", headers=auth).status_code == 204
        assert client.get("/v1/keys", headers=auth).json() == []

    def test_fingerprint_is_unique(
        self, client: TestClient, auth: Auth, make_user: Callable[..., tuple[User, Auth]]
    ) -> None:
        client.post("/v1/keys", json={"public_key": ED25519}, headers=auth)
        _, bob = make_user("bob@example.com")
        again = client.post("/v1/keys", json={"public_key": ED25519}, headers=bob)
        assert again.status_code == 409
        assert "already registered" in again.json()["detail"]

    def test_garbage_is_refused_clearly(self, client: TestClient, auth: Auth) -> None:
        private = client.post(
            "/v1/keys", json={"public_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}, headers=auth
        )
        assert private.status_code == 422
        assert "not an OpenSSH public key" in private.json()["detail"]
        damaged = client.post(
            "/v1/keys", json={"public_key": "ssh-ed25519 AAAA!!notbase64"}, headers=auth
        )
        assert "damaged" in damaged.json()["detail"]
        mismatch = "ssh-rsa " + ED25519.split()[1]
        wrong = client.post("/v1/keys", json={"public_key": mismatch}, headers=auth)
        assert "its data is 'ssh-ed25519'" in wrong.json()["detail"]
        assert base64  # the fixture key is real base64


class TestTokens:
    def test_token_is_shown_once_and_only_its_hash_stored(
        self, client: TestClient, auth: Auth, db: Session
    ) -> None:
        created = client.post("/v1/tokens", json={"name": "laptop"}, headers=auth).json()
        token = created["token"]
        assert token.startswith("lmb_")
        assert token not in client.get("/v1/tokens", headers=auth).text
        hashes = db.scalars(select(ApiToken.token_hash)).all()
        assert token not in hashes
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        client.delete(f"/v1/tokens/{created['id']}", headers=auth)
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


class TestUsers:
    def test_admin_only(
        self, client: TestClient, auth: Auth, make_user: Callable[..., tuple[User, Auth]]
    ) -> None:
        assert client.get("/v1/users", headers=auth).status_code == 403
        _, admin = make_user("root@example.com", admin=True)
        created = client.post("/v1/users", json={"email": "carol@example.com"}, headers=admin)
        assert created.status_code == 201
        carol = {"Authorization": f"Bearer {created.json()['token']}"}
        assert client.get("/v1/me", headers=carol).json()["email"] == "carol@example.com"
        emails = [u["email"] for u in client.get("/v1/users", headers=admin).json()]
        assert "carol@example.com" in emails


class TestCollaborators:
    @pytest.mark.usefixtures("app_row")
    def test_added_collaborator_gains_access_and_loses_it(
        self,
        client: TestClient,
        auth: Auth,
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        _, bob = make_user("bob@example.com")
        assert client.get("/v1/apps/thumbs", headers=bob).status_code == 403
        added = client.post(
            "/v1/apps/thumbs/collaborators", json={"email": "bob@example.com"}, headers=auth
        )
        assert added.status_code == 201
        assert client.get("/v1/apps/thumbs", headers=bob).status_code == 200
        emails = [
            u["email"] for u in client.get("/v1/apps/thumbs/collaborators", headers=auth).json()
        ]
        assert emails == ["alice@example.com", "bob@example.com"]
        client.delete("/v1/apps/thumbs/collaborators/bob@example.com", headers=auth)
        assert client.get("/v1/apps/thumbs", headers=bob).status_code == 403

    @pytest.mark.usefixtures("app_row")
    def test_unknown_email(
        self,
        client: TestClient,
        auth: Auth,
    ) -> None:
        response = client.post(
            "/v1/apps/thumbs/collaborators", json={"email": "nobody@example.com"}, headers=auth
        )
        assert response.status_code == 404
        assert response.json()["detail"] == "user 'nobody@example.com' does not exist"
