"""pipelines, pipelines:info, :create, :destroy, :transfer, :add, :remove, :diff, :promote."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from laambda.cli.client import ApiClient, CliError
from laambda.cli.common import (
    AppOption,
    JsonOption,
    api,
    command,
    out,
    outcome,
    print_json,
    settle,
)
from laambda.cli.common import resolve_app as resolve
from laambda.cli.gitremote import pipeline_from_url, remote_url

pipelines = typer.Typer()

PipelineOption = Annotated[str | None, typer.Option("--pipeline", "-p", help="the pipeline")]
StageOption = Annotated[
    str | None,
    typer.Option(
        "--stage",
        "-s",
        help="development, staging or production (default: what the app's name suggests)",
    ),
]
BranchOption = Annotated[
    str | None,
    typer.Option(
        "--branch", help="the branch of the pipeline's repository whose pushes deploy the app"
    ),
]


def _show(row: dict[str, Any]) -> None:
    out.print(f"=== {row['name']}", markup=False)
    out.print(f"Owner:   {row['owner'] or '-'}", markup=False)
    out.print(f"Git URL: {row['git_url']}", markup=False)
    if not row["apps"]:
        out.print(
            f"No apps yet: `laambda pipelines:add APP --stage staging -p {row['name']}`",
            markup=False,
        )
        return
    table = Table("stage", "app", "branch", "live release", "commit")
    for app in row["apps"]:
        if app["version"] is None:
            live = "-"
        else:
            status = "" if app["status"] == "succeeded" else f" [{app['status']}]"
            live = f"v{app['version']} {app['description']}{status}"
        table.add_row(
            app["stage"] or "-",
            app["name"],
            app["branch"] or "-",
            live,
            (app["commit"] or "-")[:7],
        )
    out.print(table)


@command(pipelines, "pipelines")
def list_pipelines(
    name: Annotated[str | None, typer.Argument(help="show this one")] = None,
    as_json: JsonOption = False,
) -> None:
    """Your pipelines, or one of them: its stages, apps, branches and live releases."""
    if name:
        return info(name, as_json=as_json)
    rows = api().get("/pipelines")
    if as_json:
        return print_json(rows)
    if not rows:
        out.print("You have no pipelines. Create one with `laambda pipelines:create NAME`.")
    for row in rows:
        apps = ", ".join(f"{a['name']} ({a['stage']})" for a in row["apps"]) or "no apps"
        out.print(f"{row['name']}  {apps}", markup=False)


@command(pipelines, "pipelines:info")
def info(
    name: Annotated[str | None, typer.Argument(help="the pipeline")] = None,
    pipeline: PipelineOption = None,
    as_json: JsonOption = False,
) -> None:
    """A pipeline (default: the repository's `laambda` remote's, a pipeline's or an app's):
    its stages in order, each app's branch, live release and commit."""
    client = api()
    chosen = name or pipeline
    if not chosen and (url := remote_url()):
        chosen = pipeline_from_url(url)
    if not chosen:
        try:
            chosen = _pipeline_of(client, resolve(None))
        except CliError:
            raise CliError(
                "which pipeline? pass its name (`laambda pipelines` lists yours)"
            ) from None
    row = client.get(f"/pipelines/{chosen}")
    if as_json:
        return print_json(row)
    _show(row)


@command(pipelines, "pipelines:create")
def create(name: str, as_json: JsonOption = False) -> None:
    """Create a pipeline (then add apps to it with pipelines:add)."""
    row = api().post("/pipelines", {"name": name})
    if as_json:
        return print_json(row)
    out.print(f"Created pipeline {row['name']}", markup=False)
    out.print(f"git remote add laambda {row['git_url']}", markup=False)


@command(pipelines, "pipelines:destroy")
def destroy(
    name: str,
    confirm: Annotated[
        str | None, typer.Option(help="the pipeline's name, to skip the question")
    ] = None,
) -> None:
    """Destroy a pipeline, its repository and its review apps (owner or admin). Its other
    apps are not destroyed: they stay, on their own."""
    if confirm != name:
        typed = typer.prompt(f"This destroys pipeline {name}. Type its name to confirm")
        if typed != name:
            raise CliError(f"'{typed}' is not '{name}': nothing was destroyed")
    result = api().delete(f"/pipelines/{name}")
    for app in result.get("destroyed", []):
        out.print(f"  review app {app} destroyed", markup=False)
    for app in result["detached"]:
        out.print(f"  {app} is on its own now", markup=False)
    out.print(f"Destroyed pipeline {name}", markup=False)


@command(pipelines, "pipelines:transfer")
def transfer(
    email: Annotated[str, typer.Argument(help="the new owner's email")],
    pipeline: PipelineOption = None,
) -> None:
    """Make another user the pipeline's owner (owner or admin only): its review apps move
    with it; its other apps keep their owners."""
    if not pipeline:
        raise CliError("which pipeline? pass -p PIPELINE (`laambda pipelines` lists yours)")
    row = api().post(f"/pipelines/{pipeline}/transfer", {"email": email})
    moved = row.get("transferred") or []
    apps = f"{len(moved)} review app{'' if len(moved) == 1 else 's'}"
    out.print(f"Transferred pipeline {pipeline} to {row['owner']} with {apps}", markup=False)


@command(pipelines, "pipelines:add")
def add(
    app_name: Annotated[str | None, typer.Argument(metavar="APP", help="the app")] = None,
    pipeline: PipelineOption = None,
    stage: StageOption = None,
    branch: BranchOption = None,
    app: AppOption = None,
) -> None:
    """Put an app in a pipeline's stage. The production app follows `main` unless --branch
    says otherwise (or another app follows `main`)."""
    name = resolve(app_name or app)
    if not pipeline:
        raise CliError("which pipeline? pass -p PIPELINE")
    body = {"app": name, "stage": stage, "branch": branch}
    row = api().post(f"/pipelines/{pipeline}/apps", {k: v for k, v in body.items() if v})
    added = next(a for a in row["apps"] if a["name"] == name)
    follows = f", following {added['branch']}" if added["branch"] else ""
    out.print(
        f"Added {name} to {pipeline} as {added['stage']}{follows}",
        markup=False,
    )


@command(pipelines, "pipelines:remove")
def remove(
    app_name: Annotated[str | None, typer.Argument(metavar="APP", help="the app")] = None,
    app: AppOption = None,
) -> None:
    """Take an app out of its pipeline (it keeps its releases and functions)."""
    name = resolve(app_name or app)
    client = api()
    pipeline = _pipeline_of(client, name)
    client.delete(f"/pipelines/{pipeline}/apps/{name}")
    out.print(f"Removed {name} from {pipeline}", markup=False)


@command(pipelines, "pipelines:diff")
def diff(
    app: AppOption = None,
    to: Annotated[str | None, typer.Option("--to", help="the downstream app")] = None,
    pipeline: PipelineOption = None,
    as_json: JsonOption = False,
) -> None:
    """The commits the app runs that its downstream app (default: the next stage's) does
    not: what a promotion would bring."""
    client = api()
    upstream = app
    if upstream is None and pipeline is None and (url := remote_url()):
        pipeline = pipeline_from_url(url)  # inside the pipeline's repository
    if upstream is None and pipeline is None:
        upstream = resolve(None)
    chosen = pipeline or _pipeline_of(client, upstream or "")
    params = {"from": upstream, "to": to}
    row = client.get(f"/pipelines/{chosen}/diff", **params)
    if as_json:
        return print_json(row)
    if row.get("note"):
        out.print(row["note"], markup=False)
        return
    if row["up_to_date"]:
        out.print(f"{row['downstream']} is up to date with {row['upstream']}", markup=False)
        return
    up, down = row["upstream"], row["downstream"]
    ahead, behind = row["commits"], row.get("behind", [])
    if ahead and behind:
        out.print(f"=== {up} and {down} have diverged", markup=False)
    if ahead:
        _commits(f"{up} is ahead of {down} by", ahead)
    if behind:
        _commits(f"{up} is behind {down} by", behind)
        out.print(f"Promoting {up} to {down} would undo these; merge them first", markup=False)


def _commits(heading: str, commits: list[dict[str, str]]) -> None:
    """A heading with the count, then one line per commit (newest first)."""
    out.print(
        f"=== {heading} {len(commits)} commit{'s' if len(commits) != 1 else ''}", markup=False
    )
    for commit in commits:
        who = f"  {commit['author']}" if commit["author"] else ""
        out.print(f"{commit['sha'][:7]}  {commit['subject']}{who}", markup=False)


@command(pipelines, "pipelines:promote")
def promote(
    app: AppOption = None,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="a downstream app (repeat for more; default: the next stage)"),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="promote even when a downstream app runs commits this app lacks"
        ),
    ] = False,
) -> None:
    """Release the app's live artifact in its downstream apps, with their own config:
    nothing is built. Refused when a downstream app runs commits this one lacks (see
    pipelines:diff) unless --force. Waits for each release; exits non-zero when one fails."""
    name = resolve(app)
    client = api()
    body: dict[str, Any] = {"app": name} | ({"to": to} if to else {})
    if force:
        body["force"] = True
    with out.status(f"Promoting {name}…"):
        result = client.post("/pipelines/promote", body)
    out.print(f"Promoting v{result['version']} of {name}", markup=False)
    failed = []
    for item in result["promoted"]:
        if item["release"] is None:
            out.print(f"  {item['app']}: {item['detail']}", markup=False)
            continue
        with out.status(f"Deploying to {item['app']}…"):
            release = settle(client, item["app"], item["release"])
        try:
            said = outcome(release)
        except CliError as exc:
            failed.append(item["app"])
            said = str(exc)
        out.print(f"  {item['app']}… {said}", markup=False)
        if force:  # what the promotion undid, if anything
            out.print(f"  {item['app']}: {item['detail']}", markup=False)
    if failed:
        raise CliError(f"promotion to {', '.join(failed)} failed")


def _pipeline_of(client: ApiClient, app: str) -> str:
    row = client.get(f"/apps/{app}")
    if not row.get("pipeline"):
        raise CliError(f"'{app}' is in no pipeline")
    return str(row["pipeline"])
