"""The server's own commands, as the `laambda` program offers them.

They are thin on purpose: each imports the server side (FastAPI, SQLAlchemy, boto3, Celery,
paramiko, moto) only when it runs, so the client commands start in a fraction of a second.
That is the one reason this module imports inside functions.
"""

from __future__ import annotations

from typing import Annotated

import typer

serverside = typer.Typer()
admin = typer.Typer(
    no_args_is_help=True, help="Manage users and their tokens directly in the database."
)


@serverside.command("api")
def api(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Run the REST API (server side)."""
    from laambda import server_commands

    server_commands.api(host=host, port=port)


@serverside.command("migrate")
def migrate() -> None:
    """Create or upgrade the database schema (server side)."""
    from laambda import server_commands

    server_commands.migrate()


@serverside.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(help="builds and deploys at once")] = 2,
) -> None:
    """Run a worker: builds and deploys (server side)."""
    from laambda import server_commands

    server_commands.worker(concurrency=concurrency)


@serverside.command("receiver")
def receiver() -> None:
    """Run the SSH git receiver (server side)."""
    from laambda import server_commands

    server_commands.receiver()


@serverside.command("up")
def up() -> None:
    """Run the whole platform on this machine."""
    from importlib.util import find_spec

    from laambda.local import PACKAGES

    # a production install (no `local` extra) is told at once, before the platform's imports
    if missing := [name for name in PACKAGES if find_spec(name) is None]:
        typer.echo(
            f"laambda: `laambda up` needs the one-machine parts ({', '.join(missing)} not "
            "installed): pip install 'laambda[local]'",
            err=True,
        )
        raise typer.Exit(2)
    from laambda.up import up as run_up

    run_up()


@admin.command("create-user")
def create_user(
    email: str,
    is_admin: Annotated[bool, typer.Option("--admin", help="may see and change every app")] = False,
) -> None:
    """Create a user and print their API token (shown once)."""
    from laambda import server_commands

    server_commands.create_user(email, is_admin=is_admin)


@admin.command("create-token")
def create_token(
    email: str,
    name: Annotated[str, typer.Option(help="what it is for")] = "admin create-token",
) -> None:
    """Give an existing user a new API token and print it (shown once): the way back in when
    the last token was revoked. Needs only the database settings (LAAMBDA_DATABASE_URL)."""
    from laambda import server_commands

    server_commands.create_token(email, name=name)
