"""What `laambda run` needs to run one function of an app on the caller's machine: the build
whose artifact to run (the live release's, or a given one), the handler of its Procfile entry,
its resources, and the release's config vars when asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.models import App, Build
from laambda.domain.function import function_name, require_entry
from laambda.domain.resources import resources_for
from laambda.errors import BuildNotFound
from laambda.services.build import build_service
from laambda.services.release import release_service


@dataclass(frozen=True)
class RunSpec:
    """One function as its live release runs it (with the code of `build_id`).

    timeout in seconds, memory in MB, environment = the release's config vars (empty unless
    asked for)."""

    app: str
    function: str  # the Lambda function's name, "<app>-<entry>"
    entry: str
    build_id: int
    runtime: str
    handler: str
    timeout: int
    memory: int
    region: str
    artifact_sha256: str
    artifact_size: int | None
    environment: dict[str, str] = field(default_factory=dict)


def runnable_build(session: Session, app: App, build_id: int | None) -> Build:
    """The succeeded build with an artifact: `build_id`, else the live release's.

    Raises BuildNotFound when there is none (no such build, not succeeded, never released)."""
    if build_id is not None:
        build: Build | None = build_service.get(session, app, build_id)
    else:
        build = release_service.current_build(session, app)
    if build is None or build.status != "succeeded" or not build.artifact_sha256:
        which = f"build {build_id}" if build_id is not None else "its live release"
        raise BuildNotFound(
            f"app '{app.name}' has no built artifact in {which}: push code (git push) or pass "
            "--build with a succeeded build (laambda builds)"
        )
    return build


def run_spec(
    session: Session,
    app: App,
    entry: str,
    *,
    build_id: int | None,
    with_config: bool,
    cipher: Cipher,
) -> RunSpec:
    """Raises BuildNotFound (see runnable_build), FunctionNotFound when the build's Procfile
    has no entry `entry` (an entry or its function name, see require_entry)."""
    build = runnable_build(session, app, build_id)
    procfile = dict(build.procfile or {})
    entry = require_entry(app.name, entry, sorted(procfile))
    release = release_service.current(session, app)
    config: dict[str, str] = {}
    snapshot: dict[str, Any] = {}
    if release is not None:
        snapshot = release.function_settings or {}
        if with_config:
            config = dict(cipher.decrypt_json(release.config_encrypted))
    resources = resources_for(entry, snapshot)
    return RunSpec(
        app=app.name,
        function=function_name(app.name, entry),
        entry=entry,
        build_id=build.id,
        runtime=build.runtime or "",
        handler=str(procfile[entry]),
        timeout=resources.timeout,
        memory=resources.memory,
        region=app.region,
        artifact_sha256=build.artifact_sha256 or "",
        artifact_size=build.artifact_size,
        environment=config,
    )


def artifact_key(build: Build) -> str:
    """Where the build's artifact is kept in the artifact bucket."""
    return build.artifact_key or f"artifacts/{build.artifact_sha256}.zip"
