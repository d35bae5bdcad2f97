"""After a release went live: its functions get their event sources, and those of functions
it lacks are taken off AWS and kept for their return (services/event_source.py holds the
rules; this is the worker's side of it).

The app's row is locked meanwhile, so an event source added or removed through the API in
the same moment is applied before or after this, never half-way through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from laambda.db.models import Release
from laambda.db.session import session_scope
from laambda.deploy import triggers
from laambda.deploy.triggers import Triggers
from laambda.services.app import app_service
from laambda.services.event_source import event_source_service
from laambda.services.release import release_service
from laambda.worker.context import WorkerContext

_logger = logging.getLogger(__name__)
_clients: dict[tuple[int, str], Triggers] = {}
_lock = threading.Lock()


def apply_event_sources(
    context: WorkerContext,
    release_id: int,
    region: str,
    entries: Collection[str],
    log: Callable[[str], None],
    redact: Callable[[str], str],
) -> None:
    """Runs once the release is recorded as succeeded; its lines, through `redact` as the
    rest of the release's (worker/redaction.py), are added to the release's log. Never
    raises: the release is live whatever happens here, and the next one retries."""
    lines: list[str] = []

    def emit(line: str) -> None:
        line = redact(line)
        lines.append(line)
        log(line)

    try:
        with session_scope(context.sessions) as session:
            release = session.get(Release, release_id)
            app = app_service.lock(session, release.app_id) if release else None
            if release is None or app is None:  # destroyed meanwhile
                return
            event_source_service.apply_release(
                session, app, entries=entries, triggers=_triggers(context, region), log=emit
            )
            release_service.add_log(session, release, lines)
    except Exception as exc:  # logged for the user: the release stands either way
        _logger.warning("event sources of release %s: %s", release_id, exc)
        emit(f"!      applying event sources failed (will retry next release): {exc}")


def _triggers(context: WorkerContext, region: str) -> Triggers:
    with _lock:
        key = (id(context), region)
        if key not in _clients:
            _clients[key] = triggers.for_region(context.settings, region)
        return _clients[key]


def forget_clients() -> None:
    """After a fork: the clients made by the parent are its connections, never the child's.
    (No lock: right after a fork, only the thread that forked runs.)"""
    _clients.clear()
