"""Canary releases on the live worker: turning the strategy on, pushes followed in a thread,
waiting for the canary, reading `live` and releases."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from laambda.db.models import App, Release, User
from laambda.db.session import session_scope
from laambda.domain.strategy import strategy
from laambda.services.strategy import strategy_service
from tests.support.platform import Platform, Pushed


def use_canary(platform: Platform, app: App, *, percent: int, seconds: int) -> None:
    with session_scope(platform.sessions) as session:
        strategy_service.set(
            session,
            session.get_one(App, app.id),
            strategy("canary", percent=percent, seconds=seconds),
            user=session.get_one(User, platform.user.id),
        )


class Background:
    """A push followed in a thread, so the test can act while its canary runs."""

    def __init__(self, platform: Platform, app: App, files: dict[str, str], commit: str) -> None:
        self.pushed: Pushed | None = None
        self.thread = threading.Thread(
            target=lambda: setattr(self, "pushed", platform.push(app, files, commit=commit)),
            daemon=True,
        )
        self.thread.start()

    def result(self, timeout: float = 180) -> Pushed:
        self.thread.join(timeout)
        assert self.pushed is not None, "the push did not finish"
        return self.pushed


def wait_canary(platform: Platform, app: App, timeout: float = 120) -> Release:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(platform.sessions) as session:
            row = session.scalar(
                select(Release).where(Release.app_id == app.id, Release.status == "canary")
            )
            if row is not None:
                session.expunge(row)
                return row
        time.sleep(0.1)
    raise AssertionError("no canary started:\n" + platform.worker.tail())


def alias(platform: Platform, function: str) -> dict[str, object]:
    return dict(platform.lambda_client.get_alias(FunctionName=function, Name="live"))


def release(platform: Platform, app: App, version: int) -> Release:
    with session_scope(platform.sessions) as session:
        row = session.scalars(
            select(Release).where(Release.app_id == app.id, Release.version == version)
        ).one()
        session.expunge(row)
        return row
