"""What the server-side commands do (`laambda api`, `worker`, `receiver`, `migrate`,
`admin create-user`; the CLI wires them in laambda/cli/serverside.py).

They read LAAMBDA_* settings; a missing or malformed one stops them with one line naming it.
"""

from __future__ import annotations

import typer
import uvicorn

from laambda.api.app import create_app
from laambda.config import Settings, get_settings
from laambda.db import migrate as migrations
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.errors import LaambdaError
from laambda.services.user import user_service
from laambda.worker.main import run_worker
from receiver.server import serve


def _settings() -> Settings:
    try:
        return get_settings()
    except LaambdaError as exc:
        typer.echo(f"laambda: {exc.message}", err=True)
        raise typer.Exit(2) from None


def migrate() -> None:
    migrations.upgrade(_settings().database_url)
    typer.echo("database is up to date")


def api(*, host: str | None, port: int | None) -> None:
    """Serve the REST API, migrating the database first."""
    settings = _settings()
    migrations.upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
    )


def worker(*, concurrency: int) -> None:
    _settings()
    run_worker(concurrency=concurrency)


def receiver() -> None:
    _settings()
    serve()


def create_user(email: str, *, is_admin: bool) -> None:
    """Create a user and print their API token (shown once)."""
    settings = _settings()
    migrations.upgrade(settings.database_url)
    sessions = make_sessionmaker(get_engine(settings.database_url))
    try:
        with session_scope(sessions) as session:
            user, token = user_service.create(session, email, is_admin=is_admin)
            role = "admin" if user.is_admin else "user"
    except LaambdaError as exc:
        typer.echo(f"laambda: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {role} {user.email}")
    typer.echo(f"token (shown once): {token}")
