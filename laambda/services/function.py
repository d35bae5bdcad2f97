"""Functions: one per Procfile entry of the current build, with their memory and timeout."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.models import App, User
from laambda.domain.function import RELEASE_ENTRY, function_name, require_entry
from laambda.domain.release import resources_description
from laambda.domain.resources import Resources, memory_problem, resources_for, timeout_problem
from laambda.errors import InvalidInput
from laambda.services.applier import ReleaseApplier
from laambda.services.config import ChangeResult
from laambda.services.release import release_service
from laambda.services.strategy import strategy_service


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    function_name: str
    handler: str
    memory: int
    timeout: int
    lambda_version: str | None
    # during a canary: the version `live` sends canary_percent % of invocations to
    canary_version: str | None = None
    canary_percent: int | None = None


class FunctionService:
    def list(self, session: Session, app: App) -> list[FunctionInfo]:
        current = release_service.current(session, app)
        build = release_service.current_build(session, app)
        if current is None or build is None or not build.procfile:
            return []
        live = strategy_service.live(session, app)
        infos = []
        for name, handler in build.procfile.items():
            if name == RELEASE_ENTRY:  # the release phase, not a function of the app
                continue
            resources = resources_for(name, current.function_settings)
            deployed = function_name(app.name, name)
            infos.append(
                FunctionInfo(
                    name=name,
                    function_name=deployed,
                    handler=str(handler),
                    memory=resources.memory,
                    timeout=resources.timeout,
                    lambda_version=share.version if (share := live.get(deployed)) else None,
                    canary_version=share.canary_version if share else None,
                    canary_percent=share.canary_percent if share else None,
                )
            )
        return infos

    def change(
        self,
        session: Session,
        app: App,
        name: str,
        *,
        user: User,
        memory: int | None,
        timeout: int | None,
        cipher: Cipher,
        applier: ReleaseApplier,
    ) -> ChangeResult:
        """Change memory and/or timeout of one function of a locked app: one release."""
        problems = [
            p
            for p in (
                memory_problem(memory) if memory is not None else None,
                timeout_problem(timeout) if timeout is not None else None,
            )
            if p
        ]
        if problems:
            raise InvalidInput("; ".join(problems))
        build = release_service.current_build(session, app)
        name = require_entry(app.name, name, list(build.procfile or {}) if build else [])
        assert build is not None  # require_entry refused an app without a build
        snapshot = release_service.settings_snapshot(session, app)
        old = resources_for(name, snapshot)
        new = Resources(
            memory=memory if memory is not None else old.memory,
            timeout=timeout if timeout is not None else old.timeout,
        )
        if new == old:
            return ChangeResult(
                None, f"nothing changed: {name} already has {old.memory} MB and {old.timeout} s"
            )
        release = release_service.create(
            session,
            app,
            user=user,
            kind="resources",
            description=resources_description(name, old, new),
            build_id=build.id,
            config=release_service.config(session, app, cipher),
            settings={**snapshot, name: {"memory": new.memory, "timeout": new.timeout}},
            cipher=cipher,
            applier=applier,
        )
        return ChangeResult(release, release.description)


function_service = FunctionService()
