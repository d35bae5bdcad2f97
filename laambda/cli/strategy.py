"""deploy-strategy, deploy-strategy:set, releases:promote, releases:abort: canary releases."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from laambda.cli.common import AppOption, JsonOption, api, command, out, print_json, settle
from laambda.cli.common import resolve_app as resolve

strategy = typer.Typer()


@command(strategy, "deploy-strategy")
def show(app: AppOption = None, as_json: JsonOption = False) -> None:
    """How the app's releases reach `live`: all at once, or as a canary."""
    name = resolve(app)
    row = api().get(f"/apps/{name}/deploy-strategy")
    if as_json:
        return print_json(row)
    out.print(f"{name}: {row['description']}", markup=False)
    return None


@command(strategy, "deploy-strategy:set")
def set_strategy(
    kind: Annotated[str, typer.Argument(metavar="STRATEGY", help="all-at-once or canary")],
    percent: Annotated[
        int | None, typer.Option("--percent", help="Share of traffic on the new versions, 1..99.")
    ] = None,
    minutes: Annotated[
        int | None,
        typer.Option(
            "--minutes",
            help="How long the canary runs; it must end a minute before "
            "LAAMBDA_PUSH_LOCK_TIMEOUT (9 minutes by default).",
        ),
    ] = None,
    seconds: Annotated[
        int | None,
        typer.Option("--seconds", help="The window in seconds instead (1..3600), for short ones."),
    ] = None,
    max_errors: Annotated[
        int | None,
        typer.Option("--max-errors", help="Errors (and throttles) tolerated; more roll back."),
    ] = None,
    app: AppOption = None,
) -> None:
    """`canary --percent 10 --minutes 5`: each release first sends 10% of traffic to its new
    versions for 5 minutes and rolls back on errors; `all-at-once` (the default) moves at once."""
    name = resolve(app)
    body: dict[str, Any] = {"strategy": kind}
    body |= {
        key: value
        for key, value in (
            ("percent", percent),
            ("minutes", minutes),
            ("seconds", seconds),
            ("max_errors", max_errors),
        )
        if value is not None
    }
    row = api().put(f"/apps/{name}/deploy-strategy", body)
    out.print(f"{name}: {row['description']}; from the next release on", markup=False)


def _end(app: str | None, verb: str, path: str) -> None:
    name = resolve(app)
    client = api()
    row = client.post(f"/apps/{name}/canary/{path}", {})
    with out.status(f"{verb} the canary of v{row['version']} of {name}…"):
        row = settle(client, name, row)
    if row["status"] == "succeeded":
        out.print(f"v{row['version']} is live everywhere", markup=False)
    elif row["status"] == "failed":
        out.print(f"v{row['version']} rolled back: {row['error']}", markup=False)
    else:
        out.print(f"v{row['version']} is still {row['status']}", markup=False)


@command(strategy, "releases:promote")
def promote(app: AppOption = None) -> None:
    """End the running canary now: every `live` alias fully on the new versions."""
    _end(app, "Promoting", "promote")


@command(strategy, "releases:abort")
def abort(app: AppOption = None) -> None:
    """Roll the running canary back now; the release fails with "canary aborted by you"."""
    _end(app, "Aborting", "abort")
