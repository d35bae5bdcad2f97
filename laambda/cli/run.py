"""`laambda run`: a function of an app run on this machine from its built artifact.

Like every client command it goes through the REST API with the user's token (what to run:
GET /v1/apps/{app}/run/{entry}; the artifact: GET /v1/apps/{app}/builds/{id}/artifact), so
it needs no server settings and sees only the apps its user may. The unpacked artifact is kept
per sha256 in the user's cache directory ($XDG_CACHE_HOME/laambda/run, else ~/.cache/...).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from laambda.cli.client import ApiClient, CliError
from laambda.cli.common import AppOption, api, command, err, out, resolve_app

run_commands = typer.Typer()


def cache_dir() -> Path:
    """Where `laambda run` keeps unpacked artifacts (laambda/local/runtime/pool.py's cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "laambda" / "run"


def _download(client: ApiClient, app: str, build_id: int, sha256: str) -> bytes:
    """The build's artifact; raises CliError unless its bytes hash to `sha256`."""
    data = client.download(f"/apps/{app}/builds/{build_id}/artifact")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CliError(
            f"the artifact of build {build_id} did not arrive whole (its sha256 differs); "
            "run the command again"
        )
    return data


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
    name = resolve_app(app)
    client = api()
    spec = client.get(
        f"/apps/{quote(name, safe='')}/run/{quote(function, safe='')}",
        build=build,
        config=not no_config,
    )
    code = local.local_function(
        spec,
        lambda: _download(client, spec["app"], spec["build_id"], spec["artifact_sha256"]),
    )
    try:
        # the function never sees the user's API token
        outcome = local.run(code, text.encode(), cache_dir())  # the box never shows home
    except LaambdaError as exc:
        raise CliError(exc.message) from None
    for line in outcome.log_lines(code):
        err.print(line, markup=False)
    if outcome.function_error:
        raise CliError(f"{function} failed ({outcome.function_error}): {describe_error(outcome)}")
    out.print(outcome.payload.decode("utf-8", "replace"), markup=False)
