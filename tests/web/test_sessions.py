"""Dashboard sessions end with the API token that opened them, and a user can end them all
(`laambda sessions:clear`): over HTTP against the real app and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.db.base import utcnow
from laambda.db.models import ApiToken, User
from laambda.web.deps import COOKIE
from tests.support.api import Auth

MakeUser = Callable[..., tuple[User, Auth]]


def _new_token(client: TestClient, auth: Auth, **body: object) -> tuple[int, str]:
    made = client.post("/v1/tokens", json={"name": "dash", **body}, headers=auth)
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["token"]


def _session_cookie(client: TestClient) -> str:
    """The session cookie a sign-in just set; the client's jar is emptied for the next."""
    cookie = client.cookies[COOKIE]
    client.cookies.clear()
    return cookie


def _typed_in(client: TestClient, token: str) -> str:
    """The session cookie the sign-in page gives for `token`, as a browser would get it."""
    client.cookies.clear()
    page = client.get("/sign-in")
    nonce = page.text.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post("/sign-in", data={"token": token, "csrf": nonce}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return _session_cookie(client)


def _from_link(client: TestClient, token: str) -> str:
    """The session cookie of the one-time link `token` asked for (`laambda dashboard`)."""
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    path = client.post("/v1/dashboard/sign-in-links", headers=headers).json()["path"]
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return _session_cookie(client)


def _signed_in(client: TestClient, cookie: str) -> bool:
    """Whether the dashboard lets the browser holding `cookie` in."""
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    answer = client.get("/", follow_redirects=False)
    client.cookies.clear()
    assert answer.status_code in (200, 303), answer.text
    return answer.status_code == 200


class TestSessionsEndWithTheirToken:
    def test_revoking_the_token_typed_in_ends_its_sessions(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        _, bob = make_user("bob@example.com")
        token_id, token = _new_token(client, bob)
        typed, linked = _typed_in(client, token), _from_link(client, token)
        kept = _typed_in(client, bob["Authorization"].removeprefix("Bearer "))
        assert _signed_in(client, typed)
        assert _signed_in(client, linked)
        revoked = client.delete(f"/v1/tokens/{token_id}", headers=bob)
        assert revoked.status_code == 204, revoked.text
        assert not _signed_in(client, typed)
        assert not _signed_in(client, linked)
        assert _signed_in(client, kept)  # opened by another token of bob's

    def test_a_link_of_a_revoked_token_is_refused(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        _, bob = make_user("bob@example.com")
        token_id, token = _new_token(client, bob)
        headers = {"Authorization": f"Bearer {token}"}
        path = client.post("/v1/dashboard/sign-in-links", headers=headers).json()["path"]
        assert client.delete(f"/v1/tokens/{token_id}", headers=bob).status_code == 204
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 401
        assert "already used or has expired" in answer.text
        assert COOKIE not in answer.cookies

    def test_a_token_that_expires_ends_its_sessions(
        self, client: TestClient, make_user: MakeUser, db: Session
    ) -> None:
        _, bob = make_user("bob@example.com")
        token_id, token = _new_token(client, bob, expires_in_days=1)
        typed = _typed_in(client, token)
        assert _signed_in(client, typed)
        db.get_one(ApiToken, token_id).expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        assert not _signed_in(client, typed)

    def test_removing_the_user_ends_their_sessions(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        _, admin = make_user("root@example.com", admin=True)
        _, bob = make_user("bob@example.com")
        cookie = _typed_in(client, _new_token(client, bob)[1])
        assert client.delete("/v1/users/bob@example.com", headers=admin).status_code == 204
        assert not _signed_in(client, cookie)


class TestSignOutEverywhere:
    def test_lists_and_ends_every_session_but_keeps_the_tokens(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        _, bob = make_user("bob@example.com")
        _, alice = make_user("alice@example.com")
        token = _new_token(client, bob)[1]
        cookies = [_typed_in(client, token), _from_link(client, token)]
        theirs = _typed_in(client, alice["Authorization"].removeprefix("Bearer "))
        listed = client.get("/v1/dashboard/sessions", headers=bob)
        assert listed.status_code == 200, listed.text
        assert [row["token_name"] for row in listed.json()] == ["dash", "dash"]
        ended = client.delete("/v1/dashboard/sessions", headers=bob)
        assert ended.status_code == 200, ended.text
        assert ended.json() == {"ended": 2}
        assert not any(_signed_in(client, cookie) for cookie in cookies)
        assert client.get("/v1/dashboard/sessions", headers=bob).json() == []
        assert client.get("/v1/me", headers=bob).status_code == 200  # tokens stay
        assert _signed_in(client, theirs)  # another user's session stays
