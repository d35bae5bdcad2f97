"""The `laambda` command: a thin client of the REST API, plus the server's own commands."""

from __future__ import annotations

import typer

from laambda.cli.access import access
from laambda.cli.apps import apps
from laambda.cli.operate import operate
from laambda.server import admin, api, migrate, receiver, worker
from laambda.up import up

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="git push to AWS Lambda, Heroku-style."
)
app.command("api", help="Run the REST API (server side).")(api)
app.command("migrate", help="Create or upgrade the database schema (server side).")(migrate)
app.command("worker", help="Run a worker: builds and deploys (server side).")(worker)
app.command("receiver", help="Run the SSH git receiver (server side).")(receiver)
app.command("up", help="Run the whole platform on this machine.")(up)
app.add_typer(admin, name="admin")

# the client commands, Heroku-style (`apps:create`, `config:set`, …)
for group in (apps, access, operate):
    app.registered_commands.extend(group.registered_commands)
