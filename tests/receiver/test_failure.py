"""An unexpected failure while taking a push: the pusher gets one line with a reference, the
operator's receiver log the traceback; no exception text reaches the pusher."""

from __future__ import annotations

from pathlib import Path

from laambda.receiver.failure import log_path, unexpected

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
