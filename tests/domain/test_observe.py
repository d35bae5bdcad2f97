from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from laambda.domain.observe import LAG_MS, Cursor, LogLine, next_page, parse_since
from laambda.errors import InvalidInput

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def line(t: int, function: str = "create", event_id: str | None = None) -> LogLine:
    return LogLine(t, function, f"m{t}", event_id or str(t), "stream")


class TestSince:
    @pytest.mark.parametrize(
        ("text", "delta"),
        [
            ("30s", timedelta(seconds=30)),
            ("15m", timedelta(minutes=15)),
            ("1h", timedelta(hours=1)),
        ],
    )
    def test_durations(self, text: str, delta: timedelta) -> None:
        assert parse_since(text, now=NOW) == NOW - delta

    def test_iso_time_without_zone_is_utc(self) -> None:
        assert parse_since("2026-11-28T14:00:00", now=NOW) == NOW - timedelta(hours=1)
        assert parse_since("2026-11-28T14:00:00Z", now=NOW) == NOW - timedelta(hours=1)

    @pytest.mark.parametrize("text", ["yesterday", "1y", "-1h"])
    def test_nonsense(self, text: str) -> None:
        with pytest.raises(InvalidInput, match="neither a duration"):
            parse_since(text, now=NOW)

    def test_future(self) -> None:
        with pytest.raises(InvalidInput, match="in the future"):
            parse_since("2027-01-01T00:00:00Z", now=NOW)

    @pytest.mark.parametrize(
        "text", ["99999999999d", "999999999999999999999w", "30000d", "0001-01-01T00:00:00Z"]
    )
    def test_before_cloudwatch_time_begins(self, text: str) -> None:
        with pytest.raises(InvalidInput, match="before 1970-01-01"):
            parse_since(text, now=NOW)


class TestCursor:
    def test_round_trip(self) -> None:
        cursor = Cursor(1_700_000_000_000, {"create/1": 1_700_000_000_001})
        assert Cursor.decode(cursor.encode()) == cursor

    @pytest.mark.parametrize("token", ["garbage", "e30", "!!!"])
    def test_foreign_token(self, token: str) -> None:
        with pytest.raises(InvalidInput, match="next_token is not a cursor"):
            Cursor.decode(token)


class TestNextPage:
    def test_lines_are_oldest_first_across_functions(self) -> None:
        lines, _, more = next_page([line(3), line(1), line(2, "resize")], Cursor(0), limit=10)
        assert [(x.time_ms, x.function) for x in lines] == [
            (1, "create"),
            (2, "resize"),
            (3, "create"),
        ]
        assert more is False

    def test_following_never_repeats_and_catches_late_lines(self) -> None:
        first, cursor, _ = next_page([line(100_000), line(100_001)], Cursor(0), limit=10)
        # the same lines come back from CloudWatch, plus a late one a little older
        late = line(99_000, event_id="late")
        second, cursor, _ = next_page(
            [line(100_000), late, line(100_001), line(100_002)], cursor, limit=10
        )
        assert [x.time_ms for x in first] == [100_000, 100_001]
        assert [x.event_id for x in second] == ["late", "100002"]
        third, cursor, _ = next_page([late, line(100_002)], cursor, limit=10)
        assert third == []
        assert cursor.after_ms == 100_002 - LAG_MS

    def test_limit_leaves_the_rest_for_the_next_page(self) -> None:
        everything = [line(t) for t in range(1, 8)]
        shown: list[int] = []
        cursor = Cursor(0)
        for _ in range(4):
            page, cursor, more = next_page(everything, cursor, limit=3)
            shown += [x.time_ms for x in page]
            if not more:
                break
        assert shown == list(range(1, 8))
