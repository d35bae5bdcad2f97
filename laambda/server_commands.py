"""What the server-side commands do (`laambda api`, `worker`, `receiver`, `migrate`,
`admin create-user`; the CLI wires them in laambda/cli/serverside.py).

They read LAAMBDA_* settings; a missing or malformed one stops them with one line naming it.
Without an exported LAAMBDA_DATABASE_URL, they act on the platform a running `laambda up`
runs (its data directory's up.json fills the variables not exported: laambda/local/running.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from laambda.config import Settings, get_settings
from laambda.db import migrate as migrations
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.errors import Conflict, LaambdaError
from laambda.local import running
from laambda.services.user import user_service


def _settings() -> Settings:
    running.load()
    try:
        return get_settings()
    except LaambdaError as exc:
        typer.echo(f"laambda: {exc.message}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _database(url: str) -> Iterator[None]:
    """A database that does not answer stops the command with one line naming it."""
    try:
        yield
    except OperationalError as exc:
        where = make_url(url).render_as_string(hide_password=True)
        why = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "no answer"
        typer.echo(
            f"laambda: cannot reach the database at {where} ({why}): start it (or "
            "`laambda up`), or set LAAMBDA_DATABASE_URL",
            err=True,
        )
        raise typer.Exit(1) from None


def migrate() -> None:
    """Bring the database to the newest revision, saying from which to which (or that it
    already was)."""
    settings = _settings()
    with _database(settings.database_url):
        before = migrations.revision(settings.database_url)
        migrations.upgrade(settings.database_url)
        after = migrations.revision(settings.database_url)
    if before == after:
        typer.echo(f"database is up to date (revision {after})")
    else:
        typer.echo(f"database migrated from {before or 'empty'} to revision {after}")


def api(*, host: str | None, port: int | None) -> None:
    """Serve the REST API, migrating the database first."""
    settings = _settings()
    with _database(settings.database_url):
        migrations.upgrade(settings.database_url)
    import uvicorn  # each part's imports are its own: `laambda migrate` loads no web stack

    from laambda.api.app import create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
    )


def worker(*, concurrency: int) -> None:
    _settings()
    from laambda.worker.main import run_worker

    run_worker(concurrency=concurrency)


def receiver() -> None:
    _settings()
    from laambda.receiver.server import serve

    serve()


def create_user(email: str, *, is_admin: bool) -> None:
    """Create a user and print their API token (shown once)."""
    settings = _settings()
    with _database(settings.database_url):
        migrations.upgrade(settings.database_url)
    sessions = make_sessionmaker(get_engine(settings.database_url))
    try:
        with _database(settings.database_url), session_scope(sessions) as session:
            user, token = user_service.create(session, email, is_admin=is_admin)
            role = "admin" if user.is_admin else "user"
    except LaambdaError as exc:
        typer.echo(f"laambda: {exc.message}", err=True)
        if isinstance(exc, Conflict):
            typer.echo(f"a new token for them: laambda admin create-token {email}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {role} {user.email}")
    typer.echo(f"token (shown once): {token}")


def create_token(email: str, *, name: str) -> None:
    """Give an existing user a new full API token and print it (shown once): the way back in
    for a user, the only admin say, who revoked their last token."""
    settings = _settings()
    sessions = make_sessionmaker(get_engine(settings.database_url))
    try:
        with _database(settings.database_url), session_scope(sessions) as session:
            user = user_service.get_by_email(session, email)
            row, token = user_service.create_token(session, user, name=name)
            made = f"created token '{row.name}' ({row.prefix}…) for {user.email}"
    except LaambdaError as exc:
        typer.echo(f"laambda: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(made)
    typer.echo(f"token (shown once): {token}")
