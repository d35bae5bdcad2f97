"""`laambda activity`: the audit trail, who changed what (key names, never values)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from laambda.cli.common import JsonOption, ago, api, command, out, print_json

activity = typer.Typer()

# the detail that says most about an action, shown after it; the rest stays in --json
_SUMMARY_KEYS = (
    "description",
    "email",
    "function",
    "source",
    "name",
    "fingerprint",
    "commit",
    "build",
    "purged",
    "token",
)


@command(activity, "activity")
def show_activity(
    app: Annotated[
        str | None,
        typer.Option(
            "--app", "-a", help="one app (default: every app you may see, and your own changes)"
        ),
    ] = None,
    num: Annotated[int, typer.Option("-n", "--num", help="how many", min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Who changed what, newest first: releases, builds, event sources, access, keys and
    tokens. An admin without -a sees the whole installation."""
    path = f"/apps/{app}/activity" if app else "/activity"
    rows = api().get(path, limit=num)
    if as_json:
        return print_json(rows)
    out.print(f"=== {app} activity" if app else "=== activity", markup=False)
    if not rows:
        out.print("Nothing yet.")
    for row in rows:
        where = "" if app else f"{row['app'] or '-':<16} "
        out.print(
            f"{ago(row['created_at']):<16} {row['user'] or '-':<24} {where}"
            f"{row['action']:<22} {summary(row['detail'])}".rstrip(),
            markup=False,
        )


def summary(detail: dict[str, Any]) -> str:
    """One line from an event's detail: 'Set BUCKET', 'web sqs:…', 'commit 3f9c1ab'."""
    parts = []
    for key in _SUMMARY_KEYS:
        value = detail.get(key)
        if value is None:
            continue
        if key == "commit":
            value = f"commit {str(value)[:7]}"
        elif key == "build":
            value = f"build {value}"
        elif key == "token":  # the deploy token that uploaded a build: name (prefix…)
            value = f"via token {value}"
        elif key == "purged":
            value = f"{value} cached {'entry' if value == 1 else 'entries'} removed"
        parts.append(str(value))
    return " ".join(parts)
