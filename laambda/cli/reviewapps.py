"""reviewapps, reviewapps:enable, reviewapps:disable, reviewapps:destroy: a pipeline's review
apps, one per branch pushed to its repository that no other app follows."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from laambda.cli.client import CliError
from laambda.cli.common import JsonOption, ago, api, command, out, print_json
from laambda.cli.gitremote import pipeline_from_url, remote_url

reviewapps = typer.Typer()

PipelineOption = Annotated[
    str | None,
    typer.Option(
        "--pipeline",
        "-p",
        help="the pipeline (default: from the repository's `laambda` remote, "
        "ssh://…/pipelines/NAME)",
    ),
]


def pipeline_name(pipeline: str | None) -> str:
    """The pipeline asked for, else the one of the repository's `laambda` remote."""
    if pipeline:
        return pipeline
    url = remote_url()
    found = pipeline_from_url(url) if url else None
    if found is None:
        raise CliError(
            "which pipeline? pass -p PIPELINE, or run this inside a repository whose "
            "`laambda` remote is ssh://…/pipelines/PIPELINE"
        )
    return found


@command(reviewapps, "reviewapps")
def list_review_apps(pipeline: PipelineOption = None, as_json: JsonOption = False) -> None:
    """The pipeline's review apps: branch, last deploy, expiry."""
    name = pipeline_name(pipeline)
    row = api().get(f"/pipelines/{name}/review-apps")
    if as_json:
        return print_json(row)
    _status(row)
    if not row["apps"]:
        out.print(f"No review apps: push a branch to ssh://…/pipelines/{name}", markup=False)
    for app in row["apps"]:
        expires = f", expires {app['expires_at'][:16]}Z" if app["expires_at"] else ""
        branch = f"branch {app['branch']}" if app["branch"] else "no branch"
        out.print(f"{app['name']}  {branch}, {_last_deploy(app)}{expires}", markup=False)


@command(reviewapps, "reviewapps:enable")
def enable(
    pipeline: PipelineOption = None,
    ttl: Annotated[
        str | None,
        typer.Option(help="destroy a review app not pushed to for this long: 3d, 12h, 90m"),
    ] = None,
) -> None:
    """Make a review app for every branch pushed that no app follows."""
    name = pipeline_name(pipeline)
    body: dict[str, Any] = {"enabled": True} | ({"ttl": ttl} if ttl else {})
    _status(api().patch(f"/pipelines/{name}/review-apps", body))


@command(reviewapps, "reviewapps:disable")
def disable(pipeline: PipelineOption = None) -> None:
    """Stop making review apps (the ones there are stay until their branch is deleted)."""
    name = pipeline_name(pipeline)
    _status(api().patch(f"/pipelines/{name}/review-apps", {"enabled": False}))


@command(reviewapps, "reviewapps:destroy")
def destroy(branch_or_app: str, pipeline: PipelineOption = None) -> None:
    """Destroy the review app of a branch (or named by its app name) and all it made in AWS."""
    name = pipeline_name(pipeline)
    with out.status(f"Destroying the review app of {branch_or_app}…"):
        row = api().delete(f"/pipelines/{name}/review-apps/{quote(branch_or_app, safe='/')}")
    for line in row["removed"]:
        out.print(f"  removed {line}", markup=False)
    branch = f" (branch {row['branch']})" if row["branch"] else ""
    out.print(f"Destroyed {row['name']}{branch}", markup=False)


def review_config(pipeline: str | None, changes: dict[str, str | None] | None = None) -> None:
    """`config --review` (changes None: show the values) and `config:set/unset --review`."""
    name = pipeline_name(pipeline)
    if changes is None:
        values = api().get(f"/pipelines/{name}/review-config", reveal="true")
        width = max((len(k) for k in values), default=0)
        for key, value in values.items():
            out.print(f"{key + ':':<{width + 2}}{value}", markup=False)
        return
    changed = api().patch(f"/pipelines/{name}/review-config", changes)["changed"]
    # unsetting a key that is set always changes it: the others were not set
    missing = [key for key, value in changes.items() if value is None and key not in changed]
    verb = "is" if len(missing) == 1 else "are"
    not_set = f"; {', '.join(missing)} {verb} not set" if missing else ""
    if not changed:
        out.print(f"Review config of {name}: nothing changed{not_set}", markup=False)
    else:
        out.print(
            f"Review config of {name}: changed {', '.join(changed)} "
            f"(review apps made from now on start with it){not_set}",
            markup=False,
        )


def _last_deploy(app: dict[str, Any]) -> str:
    """ "deployed 3m ago", "last deploy failed 3m ago", "deploying (pushed 3m ago)"."""
    outcome, when = app.get("last_deploy"), app["last_deployed_at"]
    if when is None:
        return "never deployed"
    if outcome in (None, "succeeded"):
        return f"deployed {ago(when)}"
    if outcome == "deploying":
        return f"deploying (pushed {ago(when)})"
    return f"last deploy {outcome} {ago(when)}"


def _status(row: dict[str, Any]) -> None:
    if not row["enabled"]:
        out.print(f"Review apps of {row['pipeline']}: off", markup=False)
        return
    ttl = row["ttl_seconds"]
    kept = f"destroyed after {_duration(ttl)} without a push" if ttl else "kept until deleted"
    out.print(f"Review apps of {row['pipeline']}: on, {kept}", markup=False)


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
