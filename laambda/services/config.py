"""Config vars: several keys set and unset in one change make one release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.models import App, Release, User
from laambda.domain.env_vars import size_problem, var_problem
from laambda.domain.release import config_description, config_unchanged
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
        """Set (value) and unset (None) keys of a locked app in one release; none when no
        value changes (the detail says why: set to the same value, or unset but not set).
        InvalidInput for a key or value Lambda refuses, or a config over its 4 KB."""
        problems = [
            p
            for key, value in changes.items()
            if value is not None and (p := var_problem(key, value))
        ]
        if problems:
            raise InvalidInput("; ".join(problems))
        current = release_service.config(session, app, cipher)
        new = dict(current)
        set_keys, unset_keys, unchanged, missing = [], [], [], []
        for key, value in changes.items():
            if value is None:
                if key in new:
                    del new[key]
                    unset_keys.append(key)
                else:
                    missing.append(key)
            elif current.get(key) != value:
                new[key] = value
                set_keys.append(key)
            else:
                unchanged.append(key)
        if not set_keys and not unset_keys:
            return ChangeResult(None, config_unchanged(sorted(unchanged), sorted(missing)))
        if (problem := size_problem(new)) is not None:
            raise InvalidInput(problem)
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


config_service = ConfigService()
