"""`laambda run`: a function of an app run on this machine from its built artifact.

Unlike the other client commands it reads the platform's database and object store itself
(the server's LAAMBDA_* settings, or `laambda up`'s data directory), so the server side is
imported only when it runs, as in serverside.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from laambda.cli.client import CliError
from laambda.cli.common import AppOption, command, err, out, resolve_app

run_commands = typer.Typer()


@command(run_commands, "run")
def run(
    function: str,
    app: AppOption = None,
    data: Annotated[str | None, typer.Option(help="the event, as JSON")] = None,
    file: Annotated[Path | None, typer.Option(help="a file holding the event")] = None,
    build: Annotated[
        int | None, typer.Option("--build", help="run this build (default: the live release's)")
    ] = None,
    no_config: Annotated[
        bool, typer.Option("--no-config", help="without the app's config vars")
    ] = False,
) -> None:
    """Run a function on this machine from its built artifact: no Docker, no deploy."""
    from laambda.errors import LaambdaError
    from laambda.local import run as local
    from laambda.local.runtime.spec import describe_error

    text = file.read_text() if file else (data or "{}")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"the event is not JSON: {exc}") from None
    try:
        spec, outcome = local.execute(
            resolve_app(app),
            function,
            text.encode(),
            build_id=build,
            with_config=not no_config,
        )
    except LaambdaError as exc:
        raise CliError(exc.message) from None
    for line in outcome.log_lines(spec):
        err.print(line, markup=False)
    if outcome.function_error:
        raise CliError(f"{function} failed ({outcome.function_error}): {describe_error(outcome)}")
    out.print(outcome.payload.decode("utf-8", "replace"), markup=False)
