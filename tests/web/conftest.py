"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a uvicorn
serving the real app on 127.0.0.1, on the test database, with the live worker applying
releases to moto's Lambda (tests/support/platform.py's `platform`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from tests.support.api import (
    alice,
    api,
    api_settings,
    app_for,
    app_row,
    auth,
    client,
    make_user,
)
from tests.support.dashboard import Dashboard
from tests.support.net import free_port
from tests.support.platform import Platform, platform

__all__ = [
    "alice",
    "api",
    "api_settings",
    "app_row",
    "auth",
    "client",
    "make_user",
    "platform",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed: run `bash scripts/chromium.sh`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def dashboard(platform: Platform, browser: Browser, tmp_path: Path) -> Iterator[Dashboard]:
    port = free_port()
    config = uvicorn.Config(
        app_for(platform.worker.settings),
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
