"""Operating an app's functions: invoke `live`, read their logs, read their metrics.

Functions are named by their Procfile entry ("create"), as everywhere in the API; which
functions an app has is what its current build's Procfile says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from laambda.db.models import App
from laambda.deploy.observe import Invocation, Metrics, Observer
from laambda.domain.function import (
    RELEASE_ENTRY,
    function_name,
    release_phase_refusal,
    require_entry,
)
from laambda.domain.observe import Cursor, LogLine, next_page
from laambda.errors import InvalidInput
from laambda.services.release import release_service

MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's limit for a synchronous invocation


@dataclass(frozen=True)
class LogsPage:
    lines: list[LogLine]
    cursor: Cursor
    more: bool


@dataclass(frozen=True)
class Invoked:
    """One invocation: the entry the name given found, Lambda's answer, and its payload
    parsed as JSON when it is JSON (else text)."""

    entry: str
    invocation: Invocation
    result: Any


class OperateService:
    def entries(self, session: Session, app: App, entry: str | None = None) -> list[str]:
        """The app's Procfile entries, or just the one `entry` names (an entry or its function
        name, see require_entry); FunctionNotFound (404) when it names none."""
        procfile = list(release_service.current_entries(session, app))
        if entry is None:
            return procfile
        return [require_entry(app.name, entry, procfile)]

    def invoke(
        self,
        session: Session,
        app: App,
        entry: str,
        *,
        payload: Any,
        tail: bool,
        observer: Observer,
    ) -> Invoked:
        """Invoke `live` of the function `entry` names (as `entries` finds it) once.
        InvalidInput (422) for the release phase, which is no function."""
        [entry] = self.entries(session, app, entry)
        if entry == RELEASE_ENTRY:
            raise InvalidInput(
                release_phase_refusal(
                    never="by `laambda invoke`", instead="invoke one of the app's functions"
                )
            )
        body = json.dumps(payload).encode()
        if len(body) > MAX_PAYLOAD:
            raise InvalidInput(f"payload is {len(body)} bytes; Lambda takes at most {MAX_PAYLOAD}")
        invocation = observer.invoke(function_name(app.name, entry), body, tail=tail)
        try:
            result = json.loads(invocation.payload) if invocation.payload else None
        except ValueError:
            result = invocation.payload.decode("utf-8", "replace")
        return Invoked(entry, invocation, result)

    def logs(
        self,
        session: Session,
        app: App,
        *,
        entry: str | None,
        since: datetime,
        cursor: Cursor | None,
        limit: int,
        observer: Observer,
    ) -> LogsPage:
        """Lines of the app's functions after the cursor (or since `since`), oldest first."""
        start = cursor or Cursor(int(since.timestamp() * 1000))
        candidates: list[LogLine] = []
        cut: int | None = None  # a group read only up to here: later lines of others wait
        for each in self.entries(session, app, entry):
            events, truncated = observer.log_events(
                function_name(app.name, each),
                start_ms=start.after_ms,
                want=limit,
                skip=_shown(each, start),
            )
            if truncated and events:
                last = max(int(event["timestamp"]) for event in events)
                cut = last if cut is None else min(cut, last)
            candidates.extend(
                LogLine(
                    time_ms=int(event["timestamp"]),
                    function=each,
                    message=str(event.get("message", "")),
                    event_id=str(event["eventId"]),
                    stream=str(event.get("logStreamName", "")),
                )
                for event in events
            )
        if cut is not None:
            candidates = [line for line in candidates if line.time_ms <= cut]
        lines, after, waiting = next_page(candidates, start, limit=limit)
        return LogsPage(lines, after, cut is not None or waiting)

    def metrics(
        self,
        session: Session,
        app: App,
        *,
        entry: str | None,
        since: datetime,
        until: datetime,
        observer: Observer,
    ) -> list[tuple[str, Metrics]]:
        entries = self.entries(session, app, entry)
        names = [function_name(app.name, entry) for entry in entries]
        found = observer.metrics(names, start=since, end=until) if names else {}
        return [
            (entry, found.get(name, Metrics())) for entry, name in zip(entries, names, strict=True)
        ]


def _shown(entry: str, cursor: Cursor) -> Callable[[dict[str, Any]], bool]:
    """Whether an event of the entry's log group was answered already."""

    def shown(event: dict[str, Any]) -> bool:
        return f"{entry}/{event['eventId']}" in cursor.seen

    return shown


operate_service = OperateService()
