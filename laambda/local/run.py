"""`laambda run`: one function of an app run on this machine from its built artifact, without
Docker and without deploying, by the local runtime the local cloud uses.

It reads what the platform recorded (the app, its live release or a given build, the config
the release runs with) from the database, and the artifact from the object store (on the
local cloud, its copy in the data directory, so nothing else needs to run).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from laambda.config import Settings, load_settings
from laambda.crypto import Cipher
from laambda.db.models import App, Build
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.deploy import aws
from laambda.deploy.functions import function_name
from laambda.deploy.s3 import ObjectStore
from laambda.domain.resources import resources_for
from laambda.errors import AppNotFound, BuildNotFound, FunctionNotFound
from laambda.local import object_mirror
from laambda.local.postgres import start_embedded
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction, Outcome
from laambda.services.build import build_service
from laambda.services.release import release_service

ACCOUNT = "123456789012"


def describe(
    session: Session,
    settings: Settings,
    app: App,
    entry: str,
    *,
    build_id: int | None,
    with_config: bool,
) -> LocalFunction:
    """The function as its live release runs it (or with the code of build `build_id`).

    Raises BuildNotFound when there is no built artifact to run, FunctionNotFound when the
    build's Procfile has no such entry."""
    release = release_service.current(session, app)
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
    procfile = dict(build.procfile or {})
    if entry not in procfile:
        has = ", ".join(procfile) or "none"
        raise FunctionNotFound(
            f"build {build.id} of '{app.name}' has no function '{entry}'; its functions: {has}"
        )
    config: dict[str, str] = {}
    snapshot: dict[str, Any] = {}
    if release is not None:
        snapshot = release.function_settings or {}
        if with_config:
            config = dict(Cipher(settings.secret_key).decrypt_json(release.config_encrypted))
    resources = resources_for(entry, snapshot)
    name = function_name(app.name, entry)
    key = build.artifact_key or f"artifacts/{build.artifact_sha256}.zip"
    return LocalFunction(
        name=name,
        version="$LATEST",
        arn=f"arn:aws:lambda:{app.region}:{ACCOUNT}:function:{name}",
        handler=str(procfile[entry]),
        runtime=build.runtime or "",
        timeout=float(resources.timeout),
        memory_mb=resources.memory,
        region=app.region,
        code_sha256=build.artifact_sha256,
        code=_artifact(settings, key),
        environment=config,
    )


def _artifact(settings: Settings, key: str) -> Callable[[], bytes]:
    """Read the artifact only when the runtime has no unpacked copy of it yet."""

    def read() -> bytes:
        local = object_mirror.find(settings.data_dir, settings.artifact_bucket, key)
        if local is not None:
            return local.read_bytes()
        store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "artifact.zip"
            store.get_file(key, path)
            return path.read_bytes()

    return read


def app_named(session: Session, name: str) -> App:
    app = session.query(App).filter_by(name=name).one_or_none()
    if app is None:
        raise AppNotFound(f"app '{name}' does not exist")
    return app


def run(function: LocalFunction, payload: bytes, cache: Path) -> Outcome:
    """Invoke once in a fresh environment (sandboxed: runtime/sandbox.py); its process is
    stopped afterwards. Raises RuntimeUnavailable when this machine cannot run its runtime."""
    runtime = LocalRuntime(cache)
    try:
        return runtime.invoke(function, payload)
    finally:
        runtime.close()


def execute(
    app_name: str, entry: str, payload: bytes, *, build_id: int | None, with_config: bool
) -> tuple[LocalFunction, Outcome]:
    """`laambda run` with the server's settings (LAAMBDA_*, else `laambda up`'s data
    directory: its secret key and embedded database)."""
    data_dir = Path(os.environ.get("LAAMBDA_DATA_DIR") or Settings.model_fields["data_dir"].default)
    if not os.environ.get("LAAMBDA_SECRET_KEY") and (data_dir / "secret_key").exists():
        os.environ["LAAMBDA_SECRET_KEY"] = (data_dir / "secret_key").read_text().strip()
    if not os.environ.get("LAAMBDA_DATABASE_URL") and (data_dir / "postgres").is_dir():
        _, os.environ["LAAMBDA_DATABASE_URL"] = start_embedded(data_dir)
    settings = load_settings()
    sessions = make_sessionmaker(get_engine(settings.database_url))
    with session_scope(sessions) as session:
        app = app_named(session, app_name)
        function = describe(
            session, settings, app, entry, build_id=build_id, with_config=with_config
        )
    return function, run(function, payload, settings.data_dir / "runtime")
