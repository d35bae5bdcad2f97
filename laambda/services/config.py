"""Config vars: several keys set and unset in one change make one release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.models import App, ConfigVar, Release, User
from laambda.domain.env_vars import size_problem, var_problem
from laambda.domain.release import config_description
from laambda.errors import InvalidInput
from laambda.services.applier import ReleaseApplier
from laambda.services.release import release_service


@dataclass(frozen=True)
class ChangeResult:
    """What a change did: the release it made, or None and why nothing changed."""

    release: Release | None
    detail: str


class ConfigService:
    def show(self, session: Session, app: App, cipher: Cipher) -> dict[str, str]:
        return release_service.config(session, app, cipher)

    def change(
        self,
        session: Session,
        app: App,
        *,
        user: User,
        changes: Mapping[str, str | None],
        cipher: Cipher,
        applier: ReleaseApplier,
    ) -> ChangeResult:
        """Set (value) and unset (None) keys of a locked app in one release."""
        problems = [
            p
            for key, value in changes.items()
            if value is not None and (p := var_problem(key, value))
        ]
        if problems:
            raise InvalidInput("; ".join(problems))
        current = release_service.config(session, app, cipher)
        new = dict(current)
        set_keys, unset_keys = [], []
        for key, value in changes.items():
            if value is None:
                if key in new:
                    del new[key]
                    unset_keys.append(key)
            elif current.get(key) != value:
                new[key] = value
                set_keys.append(key)
        if not set_keys and not unset_keys:
            return ChangeResult(None, "nothing changed: the config already has these values")
        if (problem := size_problem(new)) is not None:
            raise InvalidInput(problem)
        self._store(session, app, {k: new[k] for k in set_keys}, unset_keys, cipher)
        current_build = release_service.current_build(session, app)
        release = release_service.create(
            session,
            app,
            user=user,
            kind="config",
            description=config_description(sorted(set_keys), sorted(unset_keys)),
            build_id=current_build.id if current_build else None,
            config=new,
            cipher=cipher,
            applier=applier,
        )
        return ChangeResult(release, release.description)

    def _store(
        self,
        session: Session,
        app: App,
        values: Mapping[str, str],
        unset: list[str],
        cipher: Cipher,
    ) -> None:
        for key, value in values.items():
            encrypted = cipher.encrypt(value)
            statement = insert(ConfigVar).values(app_id=app.id, key=key, value_encrypted=encrypted)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ConfigVar.app_id, ConfigVar.key],
                    set_={"value_encrypted": encrypted},
                )
            )
        if unset:
            session.execute(
                delete(ConfigVar).where(ConfigVar.app_id == app.id, ConfigVar.key.in_(unset))
            )


config_service = ConfigService()
