"""`laambda activity`: the audit trail, who changed what (key names, never values)."""

from __future__ import annotations

from collections.abc import Callable
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
            f"{row['action']:<22} {summary(row['detail'], row['action'])}".rstrip(),
            markup=False,
        )


def summary(detail: dict[str, Any], action: str = "") -> str:
    """One line from an event's detail: 'Set BUCKET', 'web sqs:…', 'commit 3f9c1ab', and for
    events the platform or a pipeline made, what changed: 'v7: canary healthy for 5 minutes',
    'v3 of shop-staging → v8', 'stage staging → production', 'branch main → dev'."""
    special = _SPECIAL.get(action)
    if special is None and action.startswith("reviewapp."):
        special = _review_app
    if special is not None:
        return special(detail)
    parts = []
    version = detail.get("version")
    if version is not None and action.startswith("release."):
        parts.append(f"v{version}")
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
    if detail.get("origin") and detail["origin"] != "push":
        parts.append(
            f"({detail['origin']}{' with token ' + detail['token'] if detail.get('token') else ''})"
        )
    said = " ".join(parts)
    reason = detail.get("reason")
    return f"{said}: {reason}" if reason and said else str(reason or said)


def _from_to(what: str, detail: dict[str, Any], key: str) -> str:
    before = detail.get("previous") or "none"
    return f"{what} {before} → {detail.get(key) or 'none'}"


def _promote(detail: dict[str, Any]) -> str:
    release = f" → v{detail['release']}" if detail.get("release") is not None else ""
    return (
        f"v{detail.get('version')} of {detail.get('source')}{release} (build {detail.get('build')})"
    )


def _review_app(detail: dict[str, Any]) -> str:
    said = f"pipeline {detail.get('pipeline') or '-'}, branch {detail.get('branch') or '-'}"
    return f"{said}: {detail['reason']}" if detail.get("reason") else said


def _upload(detail: dict[str, Any]) -> str:
    parts = [f"build {detail['build']}"] if detail.get("build") is not None else []
    if detail.get("commit"):
        parts.append(f"commit {str(detail['commit'])[:7]}")
    if detail.get("token"):
        parts.append(f"with token {detail['token']}")
    return " ".join(parts) or "uploaded source"


_SPECIAL: dict[str, Callable[[dict[str, Any]], str]] = {
    "pipeline.promote": _promote,
    "pipeline.stage": lambda detail: _from_to("stage", detail, "stage"),
    "pipeline.branch": lambda detail: _from_to("branch", detail, "branch"),
    "build.upload": _upload,
}
