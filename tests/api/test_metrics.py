"""Metrics through the API: CloudWatch's data points of AWS/Lambda, totalled per function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.support import released
from tests.support.observe import put

Auth = dict[str, str]


@pytest.fixture
def api_settings(database_url: str, moto_url: str) -> Settings:
    return released.api_settings(database_url, moto_url)


@pytest.fixture
def app(db: Session, alice: tuple[User, Auth], settings: Settings) -> App:
    return released.recorded_app(db, alice[0], settings)


def test_totals_per_function(client: TestClient, auth: Auth, app: App, settings: Settings) -> None:
    create = f"{app.name}-create"
    put(settings, create, "Invocations", [1, 1, 1], ago=5)
    put(settings, create, "Errors", [1], ago=5)
    put(settings, create, "Duration", [100.0, 200.0, 300.0], ago=5)
    put(settings, create, "Invocations", [1], ago=120)  # outside the hour

    response = client.get(f"/v1/apps/{app.name}/metrics?since=1h", headers=auth)

    assert response.status_code == 200, response.text
    body = response.json()
    rows = {row["name"]: row for row in body["functions"]}
    assert rows["create"] == {
        "name": "create",
        "function_name": create,
        "invocations": 3,
        "errors": 1,
        "throttles": 0,
        "duration_avg_ms": 200.0,
        # moto has no percentiles: AWS's p99 shows here, moto's absence shows as null
        "duration_p99_ms": None,
    }
    assert rows["resize"]["invocations"] == 0
    assert rows["resize"]["duration_avg_ms"] is None


def test_one_function_and_window(
    client: TestClient, auth: Auth, app: App, settings: Settings
) -> None:
    put(settings, f"{app.name}-resize", "Throttles", [2], ago=90)
    body = client.get(
        f"/v1/apps/{app.name}/metrics", params={"function": "resize", "since": "2h"}, headers=auth
    ).json()
    assert [(r["name"], r["throttles"]) for r in body["functions"]] == [("resize", 2)]


def test_unknown_function(client: TestClient, auth: Auth, app: App) -> None:
    response = client.get(f"/v1/apps/{app.name}/metrics?function=web", headers=auth)
    assert response.status_code == 404


def test_none_from_before_the_app_was_made(
    client: TestClient, auth: Auth, app: App, db: Session, settings: Settings
) -> None:
    """A destroyed app's functions had these names: their metrics are not the new app's."""
    put(settings, f"{app.name}-create", "Invocations", [1, 1], ago=30)
    app.created_at = datetime.now(UTC) - timedelta(minutes=10)
    db.commit()
    body = client.get(f"/v1/apps/{app.name}/metrics?since=1h", headers=auth).json()
    assert {row["name"]: row["invocations"] for row in body["functions"]} == {
        "create": 0,
        "resize": 0,
    }
    assert datetime.fromisoformat(body["since"]) == app.created_at
