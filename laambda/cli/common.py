"""What every command shares: the API client, the app option, output, and one error shape."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from laambda.cli import credentials
from laambda.cli.client import ApiClient, CliError
from laambda.cli.gitremote import app_from_url, pipeline_from_url, remote_url
from laambda.domain.status import ReleaseStatus

P = ParamSpec("P")
R = TypeVar("R")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app", "-a", help="the app (default: from the repository's `laambda` git remote)"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the API's JSON")]


def command(app: typer.Typer, name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a command whose failures print one line and exit 1."""

    def register(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except CliError as exc:
                err.print(f"laambda: {exc}", markup=False)
                raise typer.Exit(1) from None

        app.command(name)(run)
        return run

    return register


def api() -> ApiClient:
    return ApiClient(credentials.load())


def resolve_app(app: str | None) -> str:
    if app:
        return app
    url = remote_url()
    found = app_from_url(url) if url else None
    if found is None and url and (pipeline := pipeline_from_url(url)):
        raise CliError(f"this repository's remote is pipeline {pipeline}: pass -a APP")
    if found is None:
        raise CliError(
            "which app? pass -a APP, or run this inside a repository with a `laambda` git "
            "remote (`laambda git:remote -a APP` adds one)"
        )
    return found


def print_json(data: Any) -> None:
    out.print(json.dumps(data, indent=2, sort_keys=True), markup=False)


def ago(stamp: str) -> str:
    """'5 minutes ago', the way a changelog reads."""
    then = datetime.fromisoformat(stamp)
    seconds = int((datetime.now(UTC) - then).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


SETTLE_SECONDS = 120.0


def settle(client: ApiClient, app: str, release: dict[str, Any]) -> dict[str, Any]:
    """Wait until the release has ended (ReleaseStatus.ENDED), at most SETTLE_SECONDS; one
    superseded by a newer release that carries it is followed to that one's end. Returns the
    release as the API last showed it, with `carried_by` naming the one first asked for.
    What it waits for (a canary, the API's `waiting`) is printed once."""
    asked = release["version"]
    deadline = time.monotonic() + SETTLE_SECONDS
    told = False
    while time.monotonic() < deadline:
        if release.get("waiting") and not told:
            out.print(f"v{release['version']} is {release['waiting']}", markup=False)
            told = True
        if release["status"] == "abandoned" and release.get("superseded_by"):
            release = client.get(f"/apps/{app}/releases/{release['superseded_by']}")
            continue
        if release["status"] in ReleaseStatus.ENDED:
            break
        time.sleep(0.3)
        release = client.get(f"/apps/{app}/releases/{release['version']}")
    return release | ({"carried": asked} if release["version"] != asked else {})


def outcome(release: dict[str, Any]) -> str:
    """'done, v8'; a release that ended without going live raises with the worker's reason
    (exit 1), one still going after SETTLE_SECONDS says so. A change carried by a newer
    release says so: 'done, v9 (v8 was carried by v9)'."""
    version = f"v{release['version']}"
    status = release["status"]
    if status == "succeeded":
        carried = release.get("carried")
        return f"done, {version}" + (f" (v{carried} was carried by {version})" if carried else "")
    if status in ReleaseStatus.ENDED:
        reason = release["error"] or f"see `laambda releases:info {version}`"
        raise CliError(f"{version} {status}: {reason}")
    return f"{version} is still {status} (`laambda releases:info {version}`)"
