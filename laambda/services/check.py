"""Smoke checks: per Procfile entry, an event its new version must answer healthily before
`live` moves (deploy/gate.py runs them). Setting or removing one makes no release: it
applies from the next release on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from laambda.db.models import App, FunctionCheck, User
from laambda.domain.function import RELEASE_ENTRY, require_entry
from laambda.errors import InvalidInput, NotFound
from laambda.services.audit import audit
from laambda.services.release import release_service


class CheckService:
    def list(self, session: Session, app: App) -> Sequence[FunctionCheck]:
        query = (
            select(FunctionCheck).where(FunctionCheck.app_id == app.id).order_by(FunctionCheck.name)
        )
        return list(session.scalars(query))

    def set(
        self,
        session: Session,
        app: App,
        name: str,
        *,
        user: User,
        event: Any,
        expect_status: int | None,
    ) -> FunctionCheck:
        """Check function `name` (a Procfile entry of the current build) with `event` from
        the next release on; `name` may be the entry's function name (see require_entry).
        FunctionNotFound (404) when the app has no such function; InvalidInput (422) for
        `release`, the release phase (whether or not the app has one)."""
        if name == RELEASE_ENTRY:
            raise InvalidInput(
                f"'{RELEASE_ENTRY}' is the release phase, which must succeed anyway: "
                "check one of the app's functions"
            )
        name = require_entry(app.name, name, self._checkable(session, app))
        values = {"event": event, "expect_status": expect_status}
        session.execute(
            insert(FunctionCheck)
            .values(app_id=app.id, name=name, **values)
            .on_conflict_do_update(
                index_elements=[FunctionCheck.app_id, FunctionCheck.name], set_=values
            )
        )
        audit.record(
            session, user, action="check.set", app=app.name, function=name, status=expect_status
        )
        session.flush()
        return session.get_one(FunctionCheck, (app.id, name), populate_existing=True)

    def unset(self, session: Session, app: App, name: str, *, user: User) -> None:
        """Remove function `name`'s check (even one left by an entry the Procfile dropped;
        `name` may be the entry's function name). FunctionNotFound (404) when there is no check
        and the app has no such entry; NotFound (404) when the entry has no check."""
        removed = self._delete(session, app, name)
        if removed is None and name not in release_service.current_entries(session, app):
            name = require_entry(app.name, name, self._checkable(session, app))
            removed = self._delete(session, app, name)
        if removed is None:
            raise NotFound(f"function '{name}' of app '{app.name}' has no smoke check")
        audit.record(session, user, action="check.unset", app=app.name, function=name)
        session.flush()

    def _delete(self, session: Session, app: App, name: str) -> object | None:
        return session.execute(
            delete(FunctionCheck)
            .where(FunctionCheck.app_id == app.id, FunctionCheck.name == name)
            .returning(FunctionCheck.name)
        ).first()

    def _checkable(self, session: Session, app: App) -> Sequence[str]:
        """The entries a check can be set on: all but the release phase's."""
        entries = release_service.current_entries(session, app)
        return [entry for entry in entries if entry != RELEASE_ENTRY]


check_service = CheckService()
