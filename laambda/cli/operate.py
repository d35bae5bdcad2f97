"""event-sources, logs, invoke and metrics: operating functions after the deploy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from laambda.cli.client import CliError
from laambda.cli.common import AppOption, JsonOption, api, command, out, print_json
from laambda.cli.common import resolve_app as resolve

operate = typer.Typer()
FUNCTION_OPTION = typer.Option("--function", "-f", help="one function (default: all)")


def _sources(app: str | None, function: str) -> str:
    return f"/apps/{resolve(app)}/functions/{function}/event-sources"


def _show_source(row: dict[str, Any]) -> None:
    detail = f" batch {row['batch_size']}" if row.get("batch_size") else ""
    url = f" {row['url']}" if row.get("url") else ""
    state = "" if row.get("applied") else "  (not applied yet: the function is not live)"
    out.print(f"{row['kind']:<9} {row['source']}{detail}{url}{state}", markup=False)


@command(operate, "event-sources")
def event_sources(function: str, app: AppOption = None, as_json: JsonOption = False) -> None:
    """What invokes a function: queues, streams, schedules, its URL."""
    rows = api().get(_sources(app, function))
    if as_json:
        return print_json(rows)
    if not rows:
        out.print(f"{function} has no event sources", markup=False)
    for row in rows:
        _show_source(row)


@command(operate, "event-sources:add")
def event_sources_add(
    function: str,
    source: str,
    app: AppOption = None,
    batch_size: Annotated[int | None, typer.Option(help="records per invocation")] = None,
) -> None:
    """Add an SQS/Kinesis/DynamoDB-stream ARN, `schedule:rate(5 minutes)`, or `http`."""
    row = api().post(_sources(app, function), {"source": source, "batch_size": batch_size})
    _show_source(row)


@command(operate, "event-sources:remove")
def event_sources_remove(function: str, source: str, app: AppOption = None) -> None:
    """Remove one event source of a function."""
    for row in api().delete(_sources(app, function), source=source):
        out.print(f"Removed {row['source']}", markup=False)


@command(operate, "event-sources:clear")
def event_sources_clear(function: str, app: AppOption = None) -> None:
    """Remove every event source of a function."""
    removed = api().delete(_sources(app, function), all="true")
    out.print(f"Removed {len(removed)} event sources of {function}", markup=False)


@command(operate, "logs")
def logs(
    app: AppOption = None,
    function: Annotated[str | None, FUNCTION_OPTION] = None,
    since: Annotated[str, typer.Option(help="how far back: 30s, 15m, 1h, 2d")] = "1h",
    tail: Annotated[bool, typer.Option("--tail", "-t", help="keep following")] = False,
) -> None:
    """The functions' logs, Heroku style: time, app[function]: message."""
    name = resolve(app)
    client = api()
    token: str | None = None
    while True:
        page = client.get(f"/apps/{name}/logs", function=function, since=since, next_token=token)
        for line in page["lines"]:
            out.print(line["text"], markup=False)
        token = page["next_token"]
        if page["more"]:
            continue
        if not tail:
            return
        time.sleep(2)


@command(operate, "invoke")
def invoke(
    function: str,
    app: AppOption = None,
    data: Annotated[str | None, typer.Option(help="the event, as JSON")] = None,
    file: Annotated[Path | None, typer.Option(help="a file holding the event")] = None,
    log: Annotated[bool, typer.Option("--log", help="show the end of its log")] = False,
) -> None:
    """Invoke a function's live version and print what it returns."""
    text = file.read_text() if file else (data or "{}")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"the event is not JSON: {exc}") from None
    with out.status(f"Invoking {function}…"):
        answer = api().post(
            f"/apps/{resolve(app)}/functions/{function}/invoke", {"payload": payload, "log": log}
        )
    if log and answer.get("log"):
        out.print(answer["log"].rstrip(), markup=False)
    result = answer["result"]
    shown = result if isinstance(result, str) else json.dumps(result, indent=2)
    if answer.get("function_error"):
        raise CliError(f"{function} failed ({answer['function_error']}): {shown}")
    out.print(shown, markup=False)


@command(operate, "metrics")
def metrics(
    app: AppOption = None,
    function: Annotated[str | None, FUNCTION_OPTION] = None,
    since: Annotated[str, typer.Option(help="how far back: 15m, 1h, 2d")] = "1h",
    as_json: JsonOption = False,
) -> None:
    """Invocations, errors, throttles and duration per function."""
    body = api().get(f"/apps/{resolve(app)}/metrics", function=function, since=since)
    if as_json:
        return print_json(body)
    table = Table("function", "invocations", "errors", "throttles", "avg ms", "p99 ms")
    for row in body["functions"]:
        table.add_row(
            row["function_name"],
            str(row["invocations"]),
            str(row["errors"]),
            str(row["throttles"]),
            _ms(row["duration_avg_ms"]),
            _ms(row["duration_p99_ms"]),
        )
    out.print(table)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
