"""After a release went live: its functions get their event sources, removed functions lose
theirs (services/event_source.py holds the rules; this is the worker's side of it).

The app's row is locked meanwhile, so an event source added or removed through the API in
the same moment is applied before or after this, never half-way through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection

from sqlalchemy import select

from laambda.db.models import App
from laambda.db.session import session_scope
from laambda.deploy import triggers
from laambda.deploy.triggers import Triggers
from laambda.services.event_source import event_source_service
from laambda.worker.context import WorkerContext

_clients: dict[tuple[int, str], Triggers] = {}
_lock = threading.Lock()


def apply_event_sources(
    context: WorkerContext,
    app: str,
    region: str,
    entries: Collection[str],
    log: Callable[[str], None],
) -> None:
    """Never raises: the release is live whatever happens here, and the next one retries."""
    try:
        with session_scope(context.sessions) as session:
            row = session.scalar(select(App).where(App.name == app).with_for_update())
            if row is None:  # destroyed meanwhile
                return
            event_source_service.apply_release(
                session, row, entries=entries, triggers=_triggers(context, region), log=log
            )
    except Exception as exc:  # logged for the user: the release stands either way
        log(f"!      applying event sources failed (will retry next release): {exc}")


def _triggers(context: WorkerContext, region: str) -> Triggers:
    with _lock:
        key = (id(context), region)
        if key not in _clients:
            _clients[key] = triggers.for_region(context.settings, region)
        return _clients[key]
