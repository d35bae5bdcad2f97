"""Reading what functions did: time windows (`--since 1h`) and the log cursor.

Pure. The cursor is what lets `laambda logs --tail` follow CloudWatch without printing a
line twice: CloudWatch pages are per log group and end when the group has nothing newer,
so the cursor keeps a time to start from and the events already shown at or after it.
It starts a little behind the newest line (LAG), because CloudWatch takes a few seconds
to make a line searchable and would otherwise never show lines that arrived late.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from laambda.errors import InvalidInput

LAG_MS = 10_000
MAX_SEEN = 2_000  # keeps the cursor small on a busy app; older lines are then not re-checked
_SINCE = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime) -> datetime:
    """`30s`, `15m`, `1h`, `2d`, `1w` before `now`, or an ISO 8601 time (UTC if no zone)."""
    value = text.strip()
    match = _SINCE.match(value)
    if match is not None:
        amount = int(match.group(1))
        try:
            return _after_epoch(now - timedelta(**{_UNITS[match.group(2)]: amount}), text)
        except OverflowError:
            raise InvalidInput(_BEFORE_EPOCH.format(text=text)) from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"since: {text!r} is neither a duration (30s, 15m, 1h, 2d, 1w) nor a time "
            "(2026-11-28T15:00:00Z)"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > now:
        raise InvalidInput(f"since: {text!r} is in the future")
    return _after_epoch(moment, text)


# CloudWatch counts time in milliseconds since 1970-01-01 UTC and refuses negative times
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BEFORE_EPOCH = "since: {text!r} reaches before 1970-01-01, which CloudWatch cannot search"


def _after_epoch(moment: datetime, text: str) -> datetime:
    if moment < _EPOCH:
        raise InvalidInput(_BEFORE_EPOCH.format(text=text))
    return moment


@dataclass(frozen=True)
class LogLine:
    time_ms: int
    function: str  # the Procfile entry
    message: str
    event_id: str
    stream: str

    @property
    def key(self) -> str:
        """Event ids are unique within a log group, so with the function they are unique."""
        return f"{self.function}/{self.event_id}"

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ms / 1000, UTC)

    def heroku(self) -> str:
        """`2026-11-28T15:04:05.123000+00:00 app[create]: message`: Heroku's format, with the
        function where Heroku names the dyno."""
        return f"{self.time.isoformat()} app[{self.function}]: {self.message.rstrip()}"


@dataclass(frozen=True)
class Cursor:
    after_ms: int
    seen: dict[str, int] = field(default_factory=dict)  # key -> time_ms, all >= after_ms

    def encode(self) -> str:
        raw = json.dumps({"a": self.after_ms, "s": self.seen}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            return cls(int(data["a"]), {str(k): int(v) for k, v in dict(data["s"]).items()})
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
            raise InvalidInput(
                "next_token is not a cursor this API gave out: start again with since"
            ) from None


def next_page(
    candidates: list[LogLine], cursor: Cursor, *, limit: int
) -> tuple[list[LogLine], Cursor, bool]:
    """The lines to show (oldest first, none shown before), the cursor after them, and
    whether more lines are already waiting. `candidates` are the lines at or after the
    cursor's time, each log group's oldest first, possibly with lines shown before."""
    fresh = sorted(
        (line for line in candidates if line.key not in cursor.seen),
        key=lambda line: (line.time_ms, line.function, line.event_id),
    )
    shown, more = fresh[:limit], len(fresh) > limit
    if not shown:
        return [], cursor, False
    after = max(cursor.after_ms, shown[-1].time_ms - LAG_MS)
    seen = {key: t for key, t in cursor.seen.items() if t >= after}
    seen.update({line.key: line.time_ms for line in shown if line.time_ms >= after})
    if len(seen) > MAX_SEEN:
        times = sorted(seen.values(), reverse=True)
        after = max(after, times[MAX_SEEN - 1])
        seen = {key: t for key, t in seen.items() if t >= after}
    return shown, Cursor(after, seen), more
