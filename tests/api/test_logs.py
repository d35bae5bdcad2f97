"""Logs through the API: CloudWatch's lines in order, each once, also while following."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from laambda.deploy import aws
from tests.support import released
from tests.support.observe import write

Auth = dict[str, str]


@pytest.fixture
def api_settings(database_url: str, moto_url: str) -> Settings:
    return released.api_settings(database_url, moto_url)


@pytest.fixture
def app(db: Session, alice: tuple[User, Auth], settings: Settings) -> App:
    return released.recorded_app(db, alice[0], settings)


@pytest.fixture
def logs(settings: Settings) -> Any:
    return aws.client("logs", settings)


def now_ms() -> int:
    return int(time.time() * 1000)


def fetch(client: TestClient, app: App, auth: Auth, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/apps/{app.name}/logs", params=params, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestReading:
    def test_lines_of_every_function_in_time_order_heroku_style(
        self, client: TestClient, auth: Auth, app: App, logs: Any
    ) -> None:
        base = now_ms() - 60_000
        write(logs, f"{app.name}-create", "a", [(base, "START one\n"), (base + 2000, "END one\n")])
        write(logs, f"{app.name}-create", "b", [(base + 1500, "from b\n")])
        write(logs, f"{app.name}-resize", "c", [(base + 1000, "resizing\n")])

        body = fetch(client, app, auth, since="5m")

        assert [(x["function"], x["message"]) for x in body["lines"]] == [
            ("create", "START one"),
            ("resize", "resizing"),
            ("create", "from b"),
            ("create", "END one"),
        ]
        first = body["lines"][0]
        assert first["text"] == f"{first['time'].replace('Z', '+00:00')} app[create]: START one"
        assert body["more"] is False

    def test_one_function(self, client: TestClient, auth: Auth, app: App, logs: Any) -> None:
        base = now_ms() - 30_000
        write(logs, f"{app.name}-create", "a", [(base, "c")])
        write(logs, f"{app.name}-resize", "a", [(base, "r")])
        body = fetch(client, app, auth, function="resize", since="5m")
        assert [x["message"] for x in body["lines"]] == ["r"]

    def test_the_function_name_names_its_entry(
        self, client: TestClient, auth: Auth, app: App, logs: Any
    ) -> None:
        base = now_ms() - 30_000
        write(logs, f"{app.name}-create", "a", [(base, "c")])
        write(logs, f"{app.name}-resize", "a", [(base, "r")])
        body = fetch(client, app, auth, function=f"{app.name}-resize", since="5m")
        assert [(x["function"], x["message"]) for x in body["lines"]] == [("resize", "r")]

    def test_since_leaves_older_lines_out(
        self, client: TestClient, auth: Auth, app: App, logs: Any
    ) -> None:
        write(logs, f"{app.name}-create", "a", [(now_ms() - 3_600_000, "old"), (now_ms(), "new")])
        assert [x["message"] for x in fetch(client, app, auth, since="10m")["lines"]] == ["new"]

    def test_never_invoked_has_no_lines(self, client: TestClient, auth: Auth, app: App) -> None:
        assert fetch(client, app, auth)["lines"] == []

    def test_unknown_function(self, client: TestClient, auth: Auth, app: App) -> None:
        response = client.get(f"/v1/apps/{app.name}/logs?function=web", headers=auth)
        assert response.status_code == 404
        assert response.json()["error"] == "FunctionNotFound"

    def test_bad_since(self, client: TestClient, auth: Auth, app: App) -> None:
        response = client.get(f"/v1/apps/{app.name}/logs?since=yesterday", headers=auth)
        assert response.status_code == 422
        assert "neither a duration" in response.json()["detail"]


class TestPagingAndFollowing:
    def test_pages_of_a_limit_give_every_line_once(
        self, client: TestClient, auth: Auth, app: App, logs: Any
    ) -> None:
        base = now_ms() - 120_000
        write(logs, f"{app.name}-create", "a", [(base + i * 10, f"c{i}") for i in range(0, 25, 2)])
        write(logs, f"{app.name}-resize", "a", [(base + i * 10, f"r{i}") for i in range(1, 25, 2)])
        seen: list[str] = []
        body = fetch(client, app, auth, since="10m", limit=4)
        seen += [x["message"] for x in body["lines"]]
        while body["more"]:
            body = fetch(client, app, auth, next_token=body["next_token"], limit=4)
            seen += [x["message"] for x in body["lines"]]
        assert seen == [f"{'c' if i % 2 == 0 else 'r'}{i}" for i in range(25)]

    def test_tail_shows_only_new_lines(
        self, client: TestClient, auth: Auth, app: App, logs: Any
    ) -> None:
        function = f"{app.name}-create"
        write(logs, function, "a", [(now_ms() - 5000, "before")])
        first = fetch(client, app, auth, since="1m")
        assert [x["message"] for x in first["lines"]] == ["before"]

        quiet = fetch(client, app, auth, next_token=first["next_token"])
        assert quiet["lines"] == []
        write(logs, function, "a", [(now_ms(), "after")])
        write(logs, function, "late", [(now_ms() - 3000, "late but searchable now")])
        later = fetch(client, app, auth, next_token=quiet["next_token"])
        again = fetch(client, app, auth, next_token=later["next_token"])

        assert sorted(x["message"] for x in later["lines"]) == ["after", "late but searchable now"]
        assert again["lines"] == []

    def test_foreign_token(self, client: TestClient, auth: Auth, app: App) -> None:
        response = client.get(f"/v1/apps/{app.name}/logs?next_token=abc", headers=auth)
        assert response.status_code == 422
        assert response.json()["error"] == "InvalidInput"
