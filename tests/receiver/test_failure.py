"""An unexpected failure while taking a push: the pusher gets one line with a reference, the
operator's receiver log the traceback; no exception text reaches the pusher."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.config import get_settings
from receiver import hook
from receiver.failure import log_path, unexpected

SECRET_TEXT = "StringDataRightTruncation: value too long for type character varying(255)"


def test_the_pusher_gets_a_reference_and_the_log_the_traceback(tmp_path: Path) -> None:
    try:
        raise RuntimeError(SECRET_TEXT)
    except RuntimeError:
        line = unexpected(tmp_path, "push to pipeline shop")
    assert line.startswith(
        "laambda failed to take the push; the operator's receiver log has the details (ref "
    )
    assert SECRET_TEXT not in line
    ref = line.rsplit("(ref ", 1)[1].rstrip(")")
    logged = log_path(tmp_path).read_text()
    assert f"ref {ref}: push to pipeline shop failed" in logged
    assert "Traceback" in logged
    assert SECRET_TEXT in logged


def test_the_hook_shows_no_exception_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAAMBDA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LAAMBDA_PUSH_USER_ID", "not-a-number")  # int() fails unexpectedly
    monkeypatch.setenv("LAAMBDA_PUSH_PIPELINE", "shop")
    get_settings.cache_clear()
    try:
        assert hook.main() == 1
    finally:
        get_settings.cache_clear()
    shown = capfd.readouterr()
    told = shown.out + shown.err
    assert "Push rejected: laambda failed to take the push" in told
    for leak in ("Traceback", "ValueError", "not-a-number", "invalid literal"):
        assert leak not in told
    assert "ValueError" in log_path(tmp_path).read_text()
