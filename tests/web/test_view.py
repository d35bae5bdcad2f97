"""How times and statuses read on the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from laambda.web.auth import safe_next
from laambda.web.view import ago, duration, status_icon, status_tone

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(5, "just now"), (60, "1 minute ago"), (7200, "2 hours ago"), (3 * 86400, "3 days ago")],
)
def test_ago(seconds: int, shown: str) -> None:
    assert ago(NOW - timedelta(seconds=seconds), NOW) == shown


def test_duration() -> None:
    assert duration(NOW, NOW + timedelta(seconds=4.25)) == "4.2 s"
    assert duration(NOW, NOW + timedelta(seconds=65)) == "1 m 05 s"
    assert duration(NOW, None) == ""


def test_every_status_reads_without_colour() -> None:
    icons = {status: status_icon(status) for status in ("succeeded", "failed", "pending")}
    assert icons == {"succeeded": "✓", "failed": "✗", "pending": "…"}
    assert status_tone("running") == "busy"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/apps/thumbs", "/apps/thumbs"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_sign_in_sends_only_to_this_site(target: str, safe: str) -> None:
    assert safe_next(target) == safe
