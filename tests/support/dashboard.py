"""The running dashboard for browser tests (its URL, the platform behind it, Chromium) and
apps deployed through the live worker for its pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page
from typer.testing import CliRunner

from laambda.cli.main import app as cli
from laambda.db.models import App, User
from laambda.db.session import session_scope
from laambda.services.user import user_service
from tests.support.platform import Platform, python_app

WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


@dataclass
class Dashboard:
    """The running dashboard: its URL, the platform behind it, and a way to sign people in."""

    url: str
    platform: Platform
    browser: Browser
    shots: Path

    def token(self, user: User) -> str:
        with session_scope(self.platform.sessions) as session:
            return user_service.create_token(session, user, name="dashboard test")[1]

    def link(self, user: User, app: str | None = None) -> str:
        """The sign-in URL `laambda dashboard` prints for `user`."""
        env = {
            "LAAMBDA_API_URL": self.url,
            "LAAMBDA_API_TOKEN": self.token(user),
            "BROWSER": "true",  # open no browser: the test's own Chromium follows the link
        }
        result = CliRunner().invoke(cli, ["dashboard", *(["-a", app] if app else [])], env=env)
        assert result.exit_code == 0, result.output
        found = re.search(r"(http://\S+/sign-in/\S+)", result.output)
        assert found, result.output
        return found[1]

    def context(self) -> BrowserContext:
        return self.browser.new_context(viewport=WIDE)  # type: ignore[arg-type]

    def shot(self, page: Page, name: str) -> None:
        """Screenshots at a desktop and at a phone width, under the test's tmp dir."""
        page.set_viewport_size(WIDE)  # type: ignore[arg-type]
        page.screenshot(path=self.shots / f"{name}-1280.png", full_page=True)
        page.set_viewport_size(NARROW)  # type: ignore[arg-type]
        page.screenshot(path=self.shots / f"{name}-390.png", full_page=True)
        page.set_viewport_size(WIDE)  # type: ignore[arg-type]


COMMIT_1, COMMIT_2 = "1a2b3c4" + "0" * 33, "5d6e7f8" + "0" * 33


def deployed(dashboard: Dashboard, name: str, commits: list[str]) -> App:
    platform = dashboard.platform
    app = platform.create_app(name)
    for number, commit in enumerate(commits, start=1):
        pushed = platform.push(app, python_app(["web"], marker=str(number)), commit)
        assert pushed.outcome.status == "succeeded", pushed.text + pushed.outcome.detail
    return app
