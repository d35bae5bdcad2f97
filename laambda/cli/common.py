"""What every command shares: the API client, the app option, output, and one error shape."""

from __future__ import annotations

import functools
import json
import os
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
    """The API client every client command starts with; a malformed LAAMBDA_FOLLOW_SECONDS
    is refused here, before the command changes anything (CliError)."""
    follow_seconds()
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


# How long a command follows a release that shows no progress (its status, version or what it
# waits for unchanged) before it says the release is still going; LAAMBDA_FOLLOW_SECONDS
# changes it. A canary release is followed to the end of its window, and this long after.
FOLLOW_SECONDS = 120.0


def follow_seconds() -> float:
    """FOLLOW_SECONDS, or LAAMBDA_FOLLOW_SECONDS when set (seconds; CliError if not a number)."""
    given = os.environ.get("LAAMBDA_FOLLOW_SECONDS")
    if not given:
        return FOLLOW_SECONDS
    try:
        return max(0.0, float(given))
    except ValueError:
        raise CliError(f"LAAMBDA_FOLLOW_SECONDS={given!r} is not a number of seconds") from None


def settle(client: ApiClient, app: str, release: dict[str, Any]) -> dict[str, Any]:
    """Wait until the release has ended (ReleaseStatus.ENDED): while it makes progress, while
    its canary window runs, and up to follow_seconds() after either; one superseded by a newer
    release that carries it is followed to that one's end. Returns the release as the API last
    showed it, with `carried_by` naming the one first asked for. What it waits for (a canary,
    the API's `waiting`) is printed once."""
    asked = release["version"]
    patience = follow_seconds()
    deadline = time.monotonic() + patience
    seen = _progress(release)
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
        if _progress(release) != seen:
            seen = _progress(release)
            deadline = max(deadline, time.monotonic() + patience)
        if release["status"] == ReleaseStatus.CANARY and release.get("canary_ends_at"):
            ends = datetime.fromisoformat(release["canary_ends_at"])
            ends = ends if ends.tzinfo else ends.replace(tzinfo=UTC)
            left = (ends - datetime.now(UTC)).total_seconds()
            deadline = max(deadline, time.monotonic() + left + patience)
    return release | ({"carried": asked} if release["version"] != asked else {})


def _progress(release: dict[str, Any]) -> tuple[Any, ...]:
    return release["version"], release["status"], release.get("waiting")


def outcome(release: dict[str, Any]) -> str:
    """'done, v8'; a release that ended without going live raises with the worker's reason
    (exit 1), one still going when settle() stopped following says so. A change carried by a newer
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
