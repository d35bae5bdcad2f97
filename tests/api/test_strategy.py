"""The deploy strategy through the API: shown, set, validated with 4xx naming what is
allowed; a running canary promoted or aborted (a request the worker carries out), 409 when
there is none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, AuditEvent, Release, User
from tests.support.released import deploy, mark

Auth = dict[str, str]


@pytest.mark.usefixtures("app_row")
class TestStrategy:
    def test_default_set_and_back(self, client: TestClient, auth: Auth, db: Session) -> None:
        shown = client.get("/v1/apps/thumbs/deploy-strategy", headers=auth)
        assert shown.status_code == 200, shown.text
        assert shown.json() == {
            "strategy": "all-at-once",
            "percent": None,
            "seconds": None,
            "max_errors": None,
            "description": "all-at-once",
        }
        body = {"strategy": "canary", "percent": 10, "minutes": 5}
        put = client.put("/v1/apps/thumbs/deploy-strategy", json=body, headers=auth)
        assert put.status_code == 200, put.text
        assert put.json() == {
            "strategy": "canary",
            "percent": 10,
            "seconds": 300,
            "max_errors": 0,
            "description": "canary: 10% for 5 minutes, at most 0 errors",
        }
        assert client.get("/v1/apps/thumbs/deploy-strategy", headers=auth).json() == put.json()
        short = {"strategy": "canary", "percent": 50, "seconds": 30, "max_errors": 3}
        answer = client.put("/v1/apps/thumbs/deploy-strategy", json=short, headers=auth).json()
        assert answer["description"] == "canary: 50% for 30 s, at most 3 errors"
        back = client.put(
            "/v1/apps/thumbs/deploy-strategy", json={"strategy": "all-at-once"}, headers=auth
        )
        assert back.json()["strategy"] == "all-at-once"
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.app_name == "thumbs")).all()
        assert actions.count("strategy.set") == 3

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            (
                {"strategy": "blue-green"},
                "deploy strategy 'blue-green' is unknown: use 'all-at-once' or 'canary'",
            ),
            (
                {"strategy": "canary", "percent": 0, "minutes": 5},
                "canary: percent must be 1..99 (the share of traffic the new versions get), not 0",
            ),
            (
                {"strategy": "canary", "percent": 100, "minutes": 5},
                "canary: percent must be 1..99 (the share of traffic the new versions get), "
                "not 100",
            ),
            ({"strategy": "canary", "percent": 10}, "canary: give the window, e.g. --minutes 5"),
            (
                {"strategy": "canary", "percent": 10, "minutes": 61},
                "canary: minutes must be 1..60, not 61",
            ),
            (
                {"strategy": "canary", "percent": 10, "minutes": 1, "seconds": 5},
                "canary: give the window as minutes or as seconds, not both",
            ),
            (
                {"strategy": "canary", "percent": 10, "seconds": 0},
                "canary: seconds must be 1..3600, not 0",
            ),
            (
                {"strategy": "canary", "percent": 10, "minutes": 5, "max_errors": -1},
                "canary: max-errors must be 0..1000000, not -1",
            ),
            (
                {"strategy": "all-at-once", "percent": 10},
                "all-at-once takes no percent, minutes, seconds or max-errors: those are for "
                "'canary'",
            ),
        ],
    )
    def test_refused_with_what_is_allowed(
        self, client: TestClient, auth: Auth, body: dict[str, object], detail: str
    ) -> None:
        answer = client.put("/v1/apps/thumbs/deploy-strategy", json=body, headers=auth)
        assert answer.status_code == 422, answer.text
        assert answer.json() == {"error": "InvalidInput", "detail": detail}
        shown = client.get("/v1/apps/thumbs/deploy-strategy", headers=auth).json()
        assert shown["strategy"] == "all-at-once"

    def test_unknown_fields_and_other_users(
        self, client: TestClient, auth: Auth, make_user: Callable[..., tuple[User, Auth]]
    ) -> None:
        typo = {"strategy": "canary", "percentage": 10, "minutes": 5}
        answer = client.put("/v1/apps/thumbs/deploy-strategy", json=typo, headers=auth)
        assert answer.status_code == 422
        assert "percentage" in answer.text
        _, mallory = make_user("mallory@example.com")
        shown = client.get("/v1/apps/thumbs/deploy-strategy", headers=mallory)
        assert shown.status_code == 403
        aborted = client.post("/v1/apps/thumbs/canary/abort", headers=mallory)
        assert aborted.status_code == 403


class TestPromoteAbort:
    def test_nothing_to_promote(self, client: TestClient, auth: Auth, app_row: App) -> None:
        for verb in ("promote", "abort"):
            answer = client.post(f"/v1/apps/{app_row.name}/canary/{verb}", headers=auth)
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"] == "NoCanary"
            assert "app 'thumbs' has no release in a canary" in answer.json()["detail"]

    def test_abort_is_recorded_for_the_worker_once(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        release = deploy(db, app_row, alice[0], api_settings)
        release.canary_percent = 10
        release.canary_started_at = datetime.now(UTC)
        release.canary_ends_at = datetime.now(UTC) + timedelta(minutes=5)
        mark(db, release, "canary")
        listed = client.get("/v1/apps/thumbs/releases", headers=auth).json()[0]
        assert (listed["status"], listed["canary_percent"]) == ("canary", 10)
        aborted = client.post("/v1/apps/thumbs/canary/abort", headers=auth)
        assert aborted.status_code == 200, aborted.text
        assert aborted.json()["canary_decision"] == "abort"
        assert aborted.json()["canary_reason"] == "canary aborted by alice@example.com"
        again = client.post("/v1/apps/thumbs/canary/promote", headers=auth)
        assert again.status_code == 409
        assert again.json()["detail"] == (
            "the canary of v1 is already ending (abort: canary aborted by alice@example.com)"
        )
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.app_name == "thumbs")).all()
        assert "release.canary_abort" in actions


def _in_canary(db: Session, release: Release, *, ends_at: datetime) -> None:
    """`release` in a canary of thumbs-create (stable version 3, new version 4) at 50%."""
    release.canary_percent = 50
    release.canary_max_errors = 0
    release.canary_started_at = datetime.now(UTC)
    release.canary_ends_at = ends_at
    release.canary_versions = {"thumbs-create": "4", "thumbs-resize": "1"}
    release.canary_previous = {"thumbs-create": "3", "thumbs-resize": None}
    mark(db, release, "canary")


class TestDuringACanary:
    ENDS = datetime(2026, 11, 30, 10, 42, 7, tzinfo=UTC) + timedelta(days=365)

    def test_functions_show_what_live_serves(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        first = deploy(db, app_row, alice[0], api_settings)
        first.function_versions = {"thumbs-create": "3"}
        db.commit()
        _in_canary(db, deploy(db, app_row, alice[0], api_settings), ends_at=self.ENDS)
        functions = client.get("/v1/apps/thumbs/functions", headers=auth).json()
        shown = {f["function_name"]: f for f in functions}
        create, resize = shown["thumbs-create"], shown["thumbs-resize"]
        # live serves version 3, half of its invocations going to version 4
        assert (create["lambda_version"], create["canary_version"], create["canary_percent"]) == (
            "3",
            "4",
            50,
        )
        # new in the canary: fully on its only version
        assert (resize["lambda_version"], resize["canary_version"]) == ("1", None)

    def test_a_release_behind_it_says_what_it_waits_for(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        _in_canary(db, deploy(db, app_row, alice[0], api_settings), ends_at=self.ENDS)
        behind = deploy(db, app_row, alice[0], api_settings)
        db.refresh(behind)
        mark(db, behind, "pending")
        listed = {
            r["version"]: r for r in client.get("/v1/apps/thumbs/releases", headers=auth).json()
        }
        assert listed[2]["waiting"] == (
            "waiting for the canary of v1 to end (at 10:42:07 UTC; `laambda releases:promote` "
            "/ `releases:abort` end it now)"
        )
        assert listed[1]["waiting"] is None

    def test_a_rollback_aborts_it_first(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        canary = deploy(db, app_row, alice[0], api_settings)
        _in_canary(db, canary, ends_at=self.ENDS)
        rolled = client.post("/v1/apps/thumbs/rollback", json={}, headers=auth)
        assert rolled.status_code == 201, rolled.text
        assert rolled.json()["description"] == "Rollback to v1"
        db.refresh(canary)
        assert (canary.canary_decision, canary.canary_reason) == (
            "abort",
            "canary aborted by rollback to v1",
        )
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "release.canary_abort")
        ).all()
        assert [(e.detail["version"], e.detail["reason"]) for e in events] == [
            (2, "canary aborted by rollback to v1")
        ]


@pytest.mark.usefixtures("app_row")
@pytest.mark.parametrize(
    ("window", "accepted"),
    [({"seconds": 540}, True), ({"seconds": 541}, False), ({"minutes": 30}, False)],
)
def test_a_window_a_waiting_push_would_not_outlast_is_refused(
    client: TestClient, auth: Auth, window: dict[str, int], accepted: bool
) -> None:
    body = {"strategy": "canary", "percent": 10, **window}
    answer = client.put("/v1/apps/thumbs/deploy-strategy", json=body, headers=auth)
    if accepted:
        assert answer.status_code == 200, answer.text
        return
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("canary: the window (")
    assert "may be at most 9 minutes: a push waiting behind a canary gives up after " in detail
    assert "LAAMBDA_PUSH_LOCK_TIMEOUT (600 s)" in detail


def test_the_document_says_the_longest_window(client: TestClient) -> None:
    """The OpenAPI document's bounds are this installation's (LAAMBDA_PUSH_LOCK_TIMEOUT 600 s)."""
    document = client.get("/openapi.json").json()
    fields = document["components"]["schemas"]["DeployStrategyUpdate"]["properties"]
    assert (fields["seconds"]["maximum"], fields["minutes"]["maximum"]) == (540, 9)
