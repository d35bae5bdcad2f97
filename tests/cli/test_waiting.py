"""Commands that wait for their release stop as soon as it has ended, whatever the end
(config:set, config:unset, resource:* and rollback share laambda/cli/common.py `settle`)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import update

from laambda.db.models import Release
from laambda.db.session import session_scope
from tests.cli.conftest import Cli


def _end_release_soon(cli: Cli, version: int, status: str, error: str) -> threading.Thread:
    """End release `version` the way a worker or the sweep does, once it is recorded."""

    def end() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with session_scope(cli.sessions) as session:
                ended = session.execute(
                    update(Release)
                    .where(Release.version == version, Release.status == "pending")
                    .values(status=status, error=error)
                )
            if ended.rowcount:  # type: ignore[attr-defined]
                return

    thread = threading.Thread(target=end, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("abandoned", "its worker died while applying it"),
        ("failed", "AWS said no: the role cannot be assumed"),
    ],
)
def test_config_set_stops_on_an_ended_release_and_says_why(
    held_cli: Cli, status: str, error: str
) -> None:
    assert held_cli("apps:create", "thumbs").returncode == 0
    ender = _end_release_soon(held_cli, 1, status, error)
    started = time.monotonic()
    setting = held_cli("config:set", "BUCKET=photos", "-a", "thumbs")
    waited = time.monotonic() - started
    ender.join()
    assert setting.returncode == 1
    assert setting.stderr.strip() == f"laambda: v1 {status}: {error}"
    assert waited < 15  # it once waited the full 120 s for an abandoned release
