"""Server-side commands (`laambda api`, `worker`, `receiver`, `migrate`, `admin create-user`).

These run on the platform's host and read LAAMBDA_* settings; the rest of the CLI is a thin
client of the REST API. A missing or malformed setting stops them with one line naming it.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from laambda.api.app import create_app
from laambda.config import Settings, get_settings
from laambda.db import migrate as migrations
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.errors import LaambdaError
from laambda.services.user import user_service
from laambda.worker.main import run_worker
from receiver.ssh import serve

server = typer.Typer(no_args_is_help=True, add_completion=False)
admin = typer.Typer(no_args_is_help=True, help="Manage users directly in the database.")


def _settings() -> Settings:
    try:
        return get_settings()
    except LaambdaError as exc:
        typer.echo(f"laambda: {exc.message}", err=True)
        raise typer.Exit(2) from None


@server.command("migrate")
def migrate() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    migrations.upgrade(_settings().database_url)
    typer.echo("database is up to date")


@server.command("api")
def api(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Run the REST API (migrating the database first)."""
    settings = _settings()
    migrations.upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
    )


@server.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(help="builds and deploys at once")] = 2,
) -> None:
    """Run a worker: builds pushed sources and applies releases."""
    _settings()
    run_worker(concurrency=concurrency)


@server.command("receiver")
def receiver() -> None:
    """Run the SSH git receiver that takes `git push`."""
    _settings()
    serve()


@admin.command("create-user")
def create_user(
    email: str,
    is_admin: Annotated[bool, typer.Option("--admin", help="may see and change every app")] = False,
) -> None:
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


server.add_typer(admin, name="admin")
