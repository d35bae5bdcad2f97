"""Tenants stay apart: who may do what to an app, and what the operator lets apps ask AWS for."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from laambda.config import Settings
from laambda.db.models import User

Auth = dict[str, str]
MakeUser = Callable[..., tuple[User, Auth]]


class TestRoles:
    def test_collaborator_pushes_changes_but_may_not_destroy_or_share(
        self, client: TestClient, auth: Auth, make_user: MakeUser
    ) -> None:
        _, bob = make_user("bob@example.com")
        _, carol = make_user("carol@example.com")
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        client.post(
            "/v1/apps/thumbs/collaborators", json={"email": "bob@example.com"}, headers=auth
        )

        changed = client.patch("/v1/apps/thumbs/config", json={"BUCKET": "x"}, headers=bob)
        assert changed.status_code == 200, changed.text
        owner_only = "only the owner of 'thumbs' (alice@example.com) or an admin may"
        for response, what in (
            (client.delete("/v1/apps/thumbs", headers=bob), "destroy it"),
            (
                client.post(
                    "/v1/apps/thumbs/transfer", json={"email": "bob@example.com"}, headers=bob
                ),
                "transfer it",
            ),
            (
                client.post(
                    "/v1/apps/thumbs/collaborators",
                    json={"email": "carol@example.com"},
                    headers=bob,
                ),
                "add collaborators to it",
            ),
            (
                client.delete("/v1/apps/thumbs/collaborators/alice@example.com", headers=bob),
                "remove its collaborators",
            ),
        ):
            assert response.status_code == 403, response.text
            assert response.json() == {
                "error": "PermissionDenied",
                "detail": f"{owner_only} {what}",
            }
        assert client.get("/v1/apps/thumbs", headers=auth).status_code == 200
        listed = client.get("/v1/apps/thumbs/collaborators", headers=auth).json()
        assert [u["email"] for u in listed] == ["alice@example.com", "bob@example.com"]
        # a collaborator may leave
        left = client.delete("/v1/apps/thumbs/collaborators/bob@example.com", headers=bob)
        assert left.status_code == 204
        assert client.get("/v1/apps/thumbs", headers=bob).status_code == 403
        assert client.get("/v1/apps/thumbs", headers=carol).status_code == 403

    def test_owner_transfers_and_the_new_owner_decides(
        self, client: TestClient, auth: Auth, make_user: MakeUser
    ) -> None:
        _, bob = make_user("bob@example.com")
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        assert client.get("/v1/apps/thumbs", headers=auth).json()["owner"] == "alice@example.com"
        moved = client.post(
            "/v1/apps/thumbs/transfer", json={"email": "bob@example.com"}, headers=auth
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["owner"] == "bob@example.com"
        # alice stays a collaborator, and now may no longer destroy it
        refused = client.delete("/v1/apps/thumbs", headers=auth)
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "only the owner of 'thumbs' (bob@example.com) or an admin may destroy it"
        )
        owner_out = client.delete("/v1/apps/thumbs/collaborators/bob@example.com", headers=bob)
        assert owner_out.status_code == 422
        assert "transfer the app first" in owner_out.json()["detail"]
        assert (
            client.delete(
                "/v1/apps/thumbs/collaborators/alice@example.com", headers=bob
            ).status_code
            == 204
        )
        assert client.delete("/v1/apps/thumbs", headers=bob).status_code == 200

    def test_admin_may_do_everything(
        self, client: TestClient, auth: Auth, make_user: MakeUser
    ) -> None:
        _, root = make_user("root@example.com", admin=True)
        make_user("bob@example.com")
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        added = client.post(
            "/v1/apps/thumbs/collaborators", json={"email": "bob@example.com"}, headers=root
        )
        assert added.status_code == 201
        moved = client.post(
            "/v1/apps/thumbs/transfer", json={"email": "bob@example.com"}, headers=root
        )
        assert moved.json()["owner"] == "bob@example.com"
        assert client.delete("/v1/apps/thumbs", headers=root).status_code == 200

    def test_transfer_to_an_unknown_user_is_404(self, client: TestClient, auth: Auth) -> None:
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        response = client.post(
            "/v1/apps/thumbs/transfer", json={"email": "nobody@example.com"}, headers=auth
        )
        assert response.status_code == 404
        assert response.json()["detail"] == "user 'nobody@example.com' does not exist"


class TestAllowedRoles:
    def test_only_the_default_role_unless_the_operator_allows_more(
        self, client: TestClient, auth: Auth
    ) -> None:
        other = "arn:aws:iam::123456789012:role/admin-everything"
        response = client.post("/v1/apps", json={"name": "thumbs", "role": other}, headers=auth)
        assert response.status_code == 403
        assert response.json()["detail"] == (
            f"role '{other}' is not allowed on this platform: LAAMBDA_ALLOWED_ROLES permits "
            "arn:aws:iam::123456789012:role/lambda-basic; leave --role out for the default "
            "role, or ask an admin (admins may give any role)"
        )
        assert client.get("/v1/apps/thumbs", headers=auth).status_code == 404

    def test_patterns_allow_and_admins_may_give_any(
        self, api_settings: Settings, client: TestClient, auth: Auth, make_user: MakeUser
    ) -> None:
        client.app.state.settings = api_settings.model_copy(  # type: ignore[attr-defined]
            update={"allowed_roles": ["arn:aws:iam::123456789012:role/laambda-*"]}
        )
        ok = "arn:aws:iam::123456789012:role/laambda-thumbs"
        created = client.post("/v1/apps", json={"name": "thumbs", "role": ok}, headers=auth)
        assert created.status_code == 201, created.text
        assert created.json()["role_arn"] == ok
        other = "arn:aws:iam::999999999999:role/laambda-thumbs"
        refused = client.post("/v1/apps", json={"name": "other", "role": other}, headers=auth)
        assert refused.status_code == 403
        assert (
            "LAAMBDA_ALLOWED_ROLES permits arn:aws:iam::123456789012:role/laambda-*"
            in (refused.json()["detail"])
        )
        _, root = make_user("root@example.com", admin=True)
        by_admin = client.post("/v1/apps", json={"name": "other", "role": other}, headers=root)
        assert by_admin.status_code == 201

    def test_settings_read_a_comma_separated_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LAAMBDA_ALLOWED_ROLES", "arn:a, arn:b/*")
        monkeypatch.setenv("LAAMBDA_ALLOWED_EVENT_SOURCE_ARNS", '["arn:aws:sqs:*"]')
        settings = Settings(secret_key="x" * 32)
        assert settings.allowed_roles == ["arn:a", "arn:b/*"]
        assert settings.allowed_event_source_arns == ["arn:aws:sqs:*"]


class TestRegionsAndKeys:
    def test_region_must_be_one_lambda_runs_in(self, client: TestClient, auth: Auth) -> None:
        for region in ("zz-nowhere-9", "us-east-1" + "x" * 40, "us-east-1\x00"):
            response = client.post(
                "/v1/apps", json={"name": "thumbs", "region": region}, headers=auth
            )
            assert response.status_code == 422, response.text
            detail = response.json()["detail"]
            assert "is not a region AWS Lambda runs in" in detail or detail.startswith(
                "region: String should have at most 30 characters"
            )
        ok = client.post("/v1/apps", json={"name": "thumbs", "region": "eu-west-3"}, headers=auth)
        assert ok.json()["region"] == "eu-west-3"

    def test_config_keys_follow_lambdas_rule(self, client: TestClient, auth: Auth) -> None:
        client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
        for key in ("X", "1X", "A-B", "AWS_REGION"):
            response = client.patch("/v1/apps/thumbs/config", json={key: "1"}, headers=auth)
            assert response.status_code == 422, key
        one = client.patch("/v1/apps/thumbs/config", json={"X": "1"}, headers=auth)
        assert "at least one more letter, digit or underscore" in one.json()["detail"]
        assert (
            client.patch("/v1/apps/thumbs/config", json={"XY": "1"}, headers=auth).status_code
            == 200
        )


def test_a_new_app_of_a_destroyed_name_shows_none_of_the_old_activity(
    client: TestClient, auth: Auth, make_user: MakeUser
) -> None:
    _, bob = make_user("bob@example.com")
    client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
    client.patch("/v1/apps/thumbs/config", json={"SECRET_NAME": "x"}, headers=auth)
    assert client.delete("/v1/apps/thumbs", headers=auth).status_code == 200
    client.post("/v1/apps", json={"name": "thumbs"}, headers=bob)
    activity = client.get("/v1/apps/thumbs/activity", headers=bob).json()
    assert [event["action"] for event in activity] == ["app.create"]
    assert activity[0]["user"] == "bob@example.com"


def test_a_user_who_owns_apps_is_not_deleted(
    client: TestClient, auth: Auth, make_user: MakeUser
) -> None:
    _, root = make_user("root@example.com", admin=True)
    client.post("/v1/apps", json={"name": "thumbs"}, headers=auth)
    refused = client.delete("/v1/users/alice@example.com", headers=root)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "alice@example.com owns app thumbs: transfer each first "
        "(`laambda apps:transfer NEW_OWNER -a APP`) or destroy it"
    )
    client.post("/v1/apps/thumbs/transfer", json={"email": "root@example.com"}, headers=auth)
    assert client.delete("/v1/users/alice@example.com", headers=root).status_code == 204


def test_a_user_who_owns_pipelines_is_not_deleted(
    client: TestClient, auth: Auth, make_user: MakeUser
) -> None:
    _, root = make_user("root@example.com", admin=True)
    _, eve = make_user("eve@example.com")
    for name in ("evepipe", "evetools"):
        assert client.post("/v1/pipelines", json={"name": name}, headers=eve).status_code == 201
    client.post("/v1/apps", json={"name": "eve-web"}, headers=eve)
    refused = client.delete("/v1/users/eve@example.com", headers=root)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "eve@example.com owns app eve-web and pipelines evepipe, evetools: transfer each "
        "first (`laambda apps:transfer NEW_OWNER -a APP`, "
        "`laambda pipelines:transfer NEW_OWNER -p PIPELINE`) or destroy it"
    )
    assert client.get("/v1/pipelines/evepipe", headers=eve).json()["owner"] == "eve@example.com"
    assert client.delete("/v1/apps/eve-web", headers=eve).status_code == 200
    for name in ("evepipe", "evetools"):
        moved = client.post(
            f"/v1/pipelines/{name}/transfer", json={"email": "alice@example.com"}, headers=eve
        )
        assert moved.status_code == 200, moved.text
    assert client.delete("/v1/users/eve@example.com", headers=root).status_code == 204
    assert client.get("/v1/pipelines/evepipe", headers=auth).json()["owner"] == "alice@example.com"
