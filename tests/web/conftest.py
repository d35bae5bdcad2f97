"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a uvicorn
serving the real app on 127.0.0.1, on the test database, with the live worker applying
releases to moto's Lambda (tests/worker/conftest.py's `platform`)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from typer.testing import CliRunner

from laambda.api.app import create_app
from laambda.cli.main import app as cli
from laambda.db.models import User
from laambda.db.session import session_scope
from laambda.services.user import user_service
from tests.api.conftest import alice, api, api_settings, app_row, auth, client, make_user
from tests.worker.conftest import Platform, platform

__all__ = ["alice", "api", "api_settings", "app_row", "auth", "client", "make_user", "platform"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed: run `bash scripts/chromium.sh`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def dashboard(platform: Platform, browser: Browser, tmp_path: Path) -> Iterator[Dashboard]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(platform.worker.settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    yield Dashboard(f"http://127.0.0.1:{port}", platform, browser, shots)
    server.should_exit = True
    thread.join(timeout=10)
