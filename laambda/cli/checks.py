"""checks, checks:set, checks:unset: smoke checks run on each new version before live moves."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from laambda.cli.client import CliError
from laambda.cli.common import AppOption, JsonOption, api, command, out, print_json
from laambda.cli.common import resolve_app as resolve

checks = typer.Typer()


@command(checks, "checks")
def list_checks(app: AppOption = None, as_json: JsonOption = False) -> None:
    """The app's smoke checks, one per checked function."""
    rows = api().get(f"/apps/{resolve(app)}/checks")
    if as_json:
        return print_json(rows)
    if not rows:
        out.print("No smoke checks: add one with `laambda checks:set FUNCTION --event JSON`")
        return None
    table = Table("function", "event", "expected status")
    for row in rows:
        status = row["expect_status"]
        table.add_row(row["name"], json.dumps(row["event"]), str(status) if status else "any")
    out.print(table)
    return None


@command(checks, "checks:set")
def set_check(
    function: str,
    event: Annotated[str, typer.Option("--event", help="The JSON event sent to the function.")],
    expect_status: Annotated[
        int | None,
        typer.Option("--expect-status", help="The statusCode an HTTP function must answer."),
    ] = None,
    app: AppOption = None,
) -> None:
    """Invoke FUNCTION's new version with --event before each release goes live; a function
    error (or another statusCode than --expect-status) fails the release."""
    try:
        payload: Any = json.loads(event)
    except ValueError as exc:
        raise CliError(
            f"--event is not JSON ({exc}); for example --event '{{\"ping\": 1}}'"
        ) from None
    name = resolve(app)
    row = api().put(
        f"/apps/{name}/checks/{function}", {"event": payload, "expect_status": expect_status}
    )
    expected = f", expecting statusCode {row['expect_status']}" if row["expect_status"] else ""
    out.print(
        f"Smoke check of {function} set{expected}; it runs from the next release of {name}",
        markup=False,
    )


@command(checks, "checks:unset")
def unset_check(function: str, app: AppOption = None) -> None:
    """Stop checking FUNCTION before releases."""
    name = resolve(app)
    api().delete(f"/apps/{name}/checks/{function}")
    out.print(f"Smoke check of {function} removed from {name}", markup=False)
