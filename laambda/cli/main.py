"""The `laambda` command: a thin client of the REST API, plus the server's own commands."""

from __future__ import annotations

from typing import Annotated

import typer

import laambda
from laambda.cli.access import access
from laambda.cli.activity import activity
from laambda.cli.apps import apps
from laambda.cli.checks import checks
from laambda.cli.dashboard import dashboard
from laambda.cli.deploy import deploy_commands
from laambda.cli.operate import operate
from laambda.cli.pipelines import pipelines
from laambda.cli.reviewapps import reviewapps
from laambda.cli.run import run_commands
from laambda.cli.serverside import admin, serverside
from laambda.cli.strategy import strategy
from laambda.cli.tokens import tokens

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="git push to AWS Lambda, Heroku-style."
)
# server side: api, migrate, worker, receiver, up, admin create-user
for group in (
    serverside,
    apps,
    checks,
    access,
    operate,
    activity,
    run_commands,
    dashboard,
    pipelines,
    reviewapps,
    strategy,
    deploy_commands,
    tokens,
):
    app.registered_commands.extend(group.registered_commands)
app.add_typer(admin, name="admin")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"laambda {laambda.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed laambda's version and exit.",
        ),
    ] = False,
) -> None:
    """git push to AWS Lambda, Heroku-style."""
