"""Event sources of an app's functions: stored here, applied to AWS through Triggers.

The database is the truth: the API changes a row and applies that one change to AWS in the
same request (rolled back with the row if AWS refuses), and every successful release applies
all rows again, so a function created later, or a change AWS lost, is put right. A function
the live release lacks (a rollback to a release before it, a push without its entry) has its
event sources taken off AWS with it, and their rows kept: they are attached again when a
release brings the function back. Only event-sources:remove/clear and apps:destroy delete them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.base import utcnow
from laambda.db.models import App, EventSource, User
from laambda.deploy.triggers import AppliedSource, Triggers
from laambda.domain.event_source import SourceSpec, parse_source
from laambda.domain.function import (
    RELEASE_ENTRY,
    function_name,
    release_phase_refusal,
    require_entry,
)
from laambda.errors import (
    EventSourceExists,
    EventSourceNotFound,
    InvalidInput,
    LaambdaError,
)
from laambda.services.audit import audit
from laambda.services.release import release_service

Log = Callable[[str], None]


@dataclass(frozen=True)
class Added:
    row: EventSource
    created: bool  # False: an existing source got a new batch size


def spec_of(row: EventSource) -> SourceSpec:
    return parse_source(row.source, batch_size=row.batch_size)


class EventSourceService:
    def list_for(self, session: Session, app: App, entry: str) -> list[EventSource]:
        """The function's event sources, oldest first (those of an entry the Procfile dropped
        too); FunctionNotFound (404) when there are none and the app has no such entry. The
        release phase's entry, a real entry with no sources, lists none."""
        return self._rows(session, app, self._named(session, app, entry))

    def add(
        self,
        session: Session,
        app: App,
        entry: str,
        *,
        source: str,
        batch_size: int | None,
        triggers: Triggers,
        user: User,
    ) -> Added:
        """Store the source and apply it to `live` now if the function was released (else
        the release that creates the function applies it). Callers lock the app row; the
        change is in the audit trail as `user`'s."""
        spec = parse_source(source, batch_size=batch_size)
        entry = self._entry(session, app, entry)
        rows = self._rows(session, app, entry)
        row = next((r for r in rows if r.source == spec.source), None)
        if spec.kind == "http":
            other = next((r for r in rows if r.kind == "http" and r.source != spec.source), None)
            if other is not None:
                raise EventSourceExists(
                    f"{entry} already has a function URL ({other.source}): "
                    f"remove it first (event-sources:remove {entry} {other.source})"
                )
        if row is not None and row.batch_size == spec.batch_size:
            raise EventSourceExists(f"{entry} already has event source {spec.source}")
        created = row is None
        if row is None:
            row = EventSource(
                app_id=app.id,
                function=entry,
                kind=spec.kind,
                source=spec.source,
                batch_size=spec.batch_size,
            )
            session.add(row)
        else:
            row.batch_size = spec.batch_size
        session.flush()
        self._applied(row, triggers.ensure(function_name(app.name, entry), spec))
        session.flush()
        audit.record(
            session,
            user,
            action="event_source.add" if created else "event_source.update",
            app=app.name,
            function=entry,
            source=spec.source,
            batch_size=spec.batch_size,
        )
        return Added(row, created)

    def remove(
        self,
        session: Session,
        app: App,
        entry: str,
        *,
        source: str | None = None,
        source_id: int | None = None,
        triggers: Triggers,
        user: User,
    ) -> EventSource:
        """Take one source off AWS and out of the database (the row stays if AWS refuses)."""
        if (source is None) == (source_id is None):
            raise InvalidInput("name the event source to remove: its source or its id")
        entry = self._named(session, app, entry)
        rows = self._rows(session, app, entry)
        canonical = _canonical(source) if source is not None else None
        row = next(
            (r for r in rows if r.id == source_id or (canonical and r.source == canonical)), None
        )
        if row is None:
            held = ", ".join(r.source for r in rows) or "none"
            wanted = source if source is not None else f"#{source_id}"
            raise EventSourceNotFound(
                f"{entry} has no event source {wanted}; its event sources: {held}"
            )
        triggers.remove(function_name(app.name, entry), spec_of(row))
        session.delete(row)
        session.flush()
        self._removed(session, user, app, entry, [row])
        return row

    def clear(
        self, session: Session, app: App, entry: str, *, triggers: Triggers, user: User
    ) -> list[EventSource]:
        """Remove every source of the function; those removed so far stay removed if AWS
        refuses one (the error names it)."""
        removed = []
        entry = self._named(session, app, entry)
        for row in self._rows(session, app, entry):
            triggers.remove(function_name(app.name, entry), spec_of(row))
            session.delete(row)
            session.flush()
            removed.append(row)
        self._removed(session, user, app, entry, removed)
        return removed

    def _removed(
        self, session: Session, user: User, app: App, entry: str, rows: list[EventSource]
    ) -> None:
        for row in rows:
            audit.record(
                session,
                user,
                action="event_source.remove",
                app=app.name,
                function=entry,
                source=row.source,
            )

    def apply_release(
        self, session: Session, app: App, *, entries: Collection[str], triggers: Triggers, log: Log
    ) -> None:
        """After a release went live: apply the sources of `entries` (its Procfile), and take
        off AWS those of functions it lacks. Their rows are kept (what the user configured):
        a rollback moves aliases and is undone by rolling forward, so when a later release
        brings the function back (a roll forward, a push, a promotion) its sources are
        attached again, a function URL under the new address AWS gives it. AWS refusing one
        source is logged and the rest go on: the release is live either way, and the next
        one tries again."""
        rows = list(
            session.scalars(
                select(EventSource).where(EventSource.app_id == app.id).order_by(EventSource.id)
            )
        )
        kept: dict[str, list[str]] = {}
        for row in rows:
            name = function_name(app.name, row.function)
            try:
                if row.function in entries:
                    self._attach(row, triggers.ensure(name, spec_of(row)), name, log)
                elif row.applied_at is not None:  # attached until this release
                    triggers.remove(name, spec_of(row))
                    row.applied_at = row.url = None
                    kept.setdefault(name, []).append(row.source)
            except LaambdaError as exc:  # AWS refused, or a row this version cannot read
                where = "" if exc.message.startswith(name) else f"{name}: {row.source}: "
                log(f"!      {where}{exc.message} (will retry next release)")
        for name, sources in kept.items():
            its = "its event source" if len(sources) == 1 else "its event sources"
            are = "is" if len(sources) == 1 else "are"
            log(f"{name}: {its} {', '.join(sources)} {are} kept and come back with it")
        session.flush()

    def _attach(self, row: EventSource, applied: AppliedSource | None, name: str, log: Log) -> None:
        """Record what `ensure` made of the row and say what changed in AWS."""
        self._applied(row, applied)
        if applied is None or not (applied.created or applied.changed):
            return
        verb = "attached" if applied.created else "updated"
        url = f" (new URL {applied.url})" if applied.created and applied.url else ""
        log(f"{name}: event source {row.source} {verb}{url}")

    def _applied(self, row: EventSource, applied: AppliedSource | None) -> None:
        if applied is not None:
            row.applied_at = utcnow()
            row.url = applied.url

    def urls(self, session: Session, app_name: str) -> list[tuple[str, str]]:
        """(entry, function URL) of each function of the app that has a URL, by entry."""
        rows = session.execute(
            select(EventSource.function, EventSource.url)
            .join(App, App.id == EventSource.app_id)
            .where(App.name == app_name, EventSource.url.is_not(None))
            .order_by(EventSource.function)
        ).all()
        return [(str(entry), str(url)) for entry, url in rows]

    def _rows(self, session: Session, app: App, entry: str) -> list[EventSource]:
        query = (
            select(EventSource)
            .where(EventSource.app_id == app.id, EventSource.function == entry)
            .order_by(EventSource.id)
        )
        return list(session.scalars(query))

    def _named(self, session: Session, app: App, entry: str) -> str:
        """The entry a user named (see require_entry), of the current Procfile or one that
        has sources kept while the live release lacks it (a rollback or a push dropped it):
        those can be listed and removed too."""
        entries = list(release_service.current_entries(session, app))
        held = session.scalars(
            select(EventSource.function)
            .where(EventSource.app_id == app.id)
            .distinct()
            .order_by(EventSource.function)
        )
        return require_entry(app.name, entry, [*entries, *(e for e in held if e not in entries)])

    def _entry(self, session: Session, app: App, entry: str) -> str:
        """The entry of the current Procfile a source may be added to (see require_entry).
        Refuse `release`, the release phase (InvalidInput, 422, whether or not the app has
        one), and a function not in the current Procfile (FunctionNotFound, 404, like every
        function route)."""
        entries = release_service.current_entries(session, app)
        named = entry if entry == RELEASE_ENTRY else require_entry(app.name, entry, entries)
        if named == RELEASE_ENTRY:
            raise InvalidInput(
                release_phase_refusal(
                    never="from an event source", instead="add the source to another function"
                )
            )
        return named


def _canonical(source: str) -> str:
    """The stored spelling of a source typed by hand (`http:AWS_IAM` -> `http:aws_iam`)."""
    try:
        return parse_source(source).source
    except InvalidInput:
        return source.strip()


event_source_service = EventSourceService()
