"""apps, config, releases, rollback, functions and resources, builds, git:remote."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from laambda.cli.client import CliError
from laambda.cli.common import (
    AppOption,
    JsonOption,
    ago,
    api,
    command,
    out,
    outcome,
    print_json,
    settle,
)
from laambda.cli.common import resolve_app as resolve
from laambda.cli.gitremote import add_remote
from laambda.cli.reviewapps import PipelineOption, review_config

apps = typer.Typer()


@command(apps, "apps")
def list_apps(as_json: JsonOption = False) -> None:
    """Your apps."""
    rows = api().get("/apps")
    if as_json:
        return print_json(rows)
    if not rows:
        out.print("You have no apps. Create one with `laambda apps:create NAME`.")
    for row in rows:
        out.print(f"{row['name']}  ({row['region']}, {row['architecture']})", markup=False)


@command(apps, "apps:create")
def create(
    name: str,
    role: Annotated[str | None, typer.Option(help="IAM role ARN the functions run as")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region")] = None,
    arch: Annotated[str | None, typer.Option(help="x86_64 or arm64")] = None,
    runtime: Annotated[
        str | None, typer.Option(help="pin a Lambda runtime, e.g. python3.12 (default: detect)")
    ] = None,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="join this pipeline")
    ] = None,
    stage: Annotated[
        str | None, typer.Option(help="its stage (default: what its name suggests)")
    ] = None,
    branch: Annotated[
        str | None, typer.Option(help="the pipeline branch whose pushes deploy it")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an app (with -p, in a pipeline's stage, following --branch)."""
    if (stage or branch) and not pipeline:
        raise CliError("--stage and --branch place the app in a pipeline: give -p PIPELINE too")
    place = {"name": pipeline, "stage": stage, "branch": branch}
    body = {
        "name": name,
        "role": role,
        "region": region,
        "architecture": arch,
        "runtime": runtime,
        "pipeline": {k: v for k, v in place.items() if v} if pipeline else None,
    }
    with out.status(f"Creating {name}…"):
        row = api().post("/apps", {k: v for k, v in body.items() if v is not None})
    if as_json:
        return print_json(row)
    out.print(f"Created {row['name']} ({row['region']}, {row['architecture']})", markup=False)
    if row.get("pipeline"):
        follows = f", following {row['branch']}" if row.get("branch") else ""
        out.print(f"In pipeline {row['pipeline']} as {row['stage']}{follows}", markup=False)
    out.print(f"git remote add laambda {row['git_url']}", markup=False)


@command(apps, "apps:update")
def update(
    app_name: Annotated[str | None, typer.Argument(metavar="APP", help="the app")] = None,
    app: AppOption = None,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="move it to this pipeline")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="development, staging or production")] = None,
    branch: Annotated[
        str | None, typer.Option(help="the pipeline branch whose pushes deploy it")
    ] = None,
    no_branch: Annotated[bool, typer.Option("--no-branch", help="follow no branch")] = False,
    as_json: JsonOption = False,
) -> None:
    """Change an app's pipeline, stage or branch."""
    name = resolve(app_name or app)
    body: dict[str, str | None] = {
        k: v for k, v in (("pipeline", pipeline), ("stage", stage), ("branch", branch)) if v
    }
    if no_branch:
        body["branch"] = None
    if not body:
        raise CliError("nothing to change: give --pipeline, --stage, --branch or --no-branch")
    row = api().patch(f"/apps/{name}", body)
    if as_json:
        return print_json(row)
    follows = f"following {row['branch']}" if row["branch"] else "following no branch"
    out.print(
        f"{name}: pipeline {row['pipeline'] or '-'}, stage {row['stage'] or '-'}, {follows}",
        markup=False,
    )


@command(apps, "apps:info")
def info(
    app_name: Annotated[str | None, typer.Argument(metavar="APP", help="the app")] = None,
    app: AppOption = None,
    as_json: JsonOption = False,
) -> None:
    """An app: region, role, functions (what `live` serves) and current release (the newest
    that did not fail; a newer failed one is shown apart)."""
    name = resolve(app_name or app)
    client = api()
    row = client.get(f"/apps/{name}")
    functions = client.get(f"/apps/{name}/functions")
    releases = client.get(f"/apps/{name}/releases", limit=1)
    current = client.get(f"/apps/{name}/releases/current")
    if as_json:
        return print_json(
            {**row, "functions": functions, "releases": releases, "current_release": current}
        )
    out.print(f"=== {row['name']}", markup=False)
    for label, key in (
        ("Owner", "owner"),
        ("Region", "region"),
        ("Role", "role_arn"),
        ("Git URL", "git_url"),
    ):
        out.print(f"{label + ':':<12}{row[key] or '-'}", markup=False)
    out.print(f"{'Arch:':<12}{row['architecture']}")
    if current:
        status = "" if current["status"] == "succeeded" else f" [{_status(current)}]"
        out.print(
            f"{'Release:':<12}v{current['version']} {current['description']}{status}",
            markup=False,
        )
    if releases and (current is None or releases[0]["version"] != current["version"]):
        # the newest release did not go live: shown apart, never as the app's release
        last = releases[0]
        label = f"{str(last['status']).capitalize()}:"
        out.print(f"{label:<12}v{last['version']} {last['description']} (not live)", markup=False)
    for fn in functions:
        out.print(
            f"{'Function:':<12}{fn['function_name']} ({fn['handler']}, "
            f"{fn['memory']} MB, {fn['timeout']} s, live: {live_version(fn)})",
            markup=False,
        )


def live_version(fn: dict[str, Any]) -> str:
    """What a function's `live` serves: '3', '3 (50% → 4)' during a canary, '-' before any."""
    version = fn.get("lambda_version") or "-"
    if fn.get("canary_version"):
        return f"{version} ({fn.get('canary_percent')}% → {fn['canary_version']})"
    return str(version)


@command(apps, "apps:destroy")
def destroy(
    app_name: Annotated[str | None, typer.Argument(metavar="APP", help="the app")] = None,
    app: AppOption = None,
    confirm: Annotated[
        str | None, typer.Option(help="the app's name, to skip the question")
    ] = None,
) -> None:
    """Destroy an app and everything laambda made for it: its functions, event sources,
    schedules and URLs in AWS, its git repository, build cache and artifacts (owner or admin).
    Safe to run again when it stopped half-way."""
    name = resolve(app_name or app)
    if confirm != name:
        typed = typer.prompt(f"This destroys {name}. Type its name to confirm")
        if typed != name:
            raise CliError(f"'{typed}' is not '{name}': nothing was destroyed")
    with out.status(f"Destroying {name}…"):
        result = api().delete(f"/apps/{name}")
    for line in result["removed"]:
        out.print(f"  removed {line}", markup=False)
    out.print(f"Destroyed {name}", markup=False)


@command(apps, "apps:transfer")
def transfer(
    email: Annotated[str, typer.Argument(help="the new owner's email")],
    app: AppOption = None,
) -> None:
    """Make another user the app's owner (you stay a collaborator; owner or admin only)."""
    name = resolve(app)
    row = api().post(f"/apps/{name}/transfer", {"email": email})
    out.print(f"Transferred {name} to {row['owner']}", markup=False)


ReviewOption = Annotated[
    bool, typer.Option("--review", help="the review config of the pipeline -p (review apps)")
]


@command(apps, "config")
def config(
    app: AppOption = None,
    as_json: JsonOption = False,
    review: ReviewOption = False,
    pipeline: PipelineOption = None,
) -> None:
    """The app's config vars (you asked, so values are shown); with --review -p P, the
    config the pipeline's review apps start with."""
    if review:
        return review_config(pipeline)
    values = api().get(f"/apps/{resolve(app)}/config", reveal="true")
    if as_json:
        return print_json(values)
    width = max((len(k) for k in values), default=0)
    for key, value in values.items():
        out.print(f"{key + ':':<{width + 2}}{value}", markup=False)


@command(apps, "config:get")
def config_get(key: str, app: AppOption = None) -> None:
    """One config var's value."""
    values = api().get(f"/apps/{resolve(app)}/config", reveal="true")
    if key not in values:
        raise CliError(f"{key} is not set")
    out.print(values[key], markup=False)


def _change(name: str, changes: dict[str, str | None], verb: str) -> None:
    client = api()
    with out.status(f"{verb} and restarting {name}…"):
        result = client.patch(f"/apps/{name}/config", changes)
        release = result["release"] and settle(client, name, result["release"])
    if release is None:
        out.print(f"{verb}… {result['detail']}", markup=False)
    else:
        out.print(f"{verb} and restarting {name}… {outcome(release)}", markup=False)


@command(apps, "config:set")
def config_set(
    pairs: list[str],
    app: AppOption = None,
    review: ReviewOption = False,
    pipeline: PipelineOption = None,
) -> None:
    """Set config vars: KEY=VALUE … (one release); with --review -p P, in the config the
    pipeline's review apps start with."""
    changes: dict[str, str | None] = {}
    for position, pair in enumerate(pairs, start=1):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            # never echo the argument: without its '=' it may be a bare secret
            raise CliError(f"argument {position} is not KEY=VALUE")
        changes[key] = value
    if review:
        return review_config(pipeline, changes)
    _change(resolve(app), changes, "Setting " + ", ".join(changes))


@command(apps, "config:unset")
def config_unset(
    keys: list[str],
    app: AppOption = None,
    review: ReviewOption = False,
    pipeline: PipelineOption = None,
) -> None:
    """Unset config vars: KEY … (one release); with --review -p P, in the review config."""
    if review:
        return review_config(pipeline, dict.fromkeys(keys))
    _change(resolve(app), dict.fromkeys(keys), "Unsetting " + ", ".join(keys))


@command(apps, "config:clear")
def config_clear(app: AppOption = None) -> None:
    """Unset every config var (one release)."""
    name = resolve(app)
    keys = list(api().get(f"/apps/{name}/config"))
    if not keys:
        out.print(f"{name} has no config vars")
        return
    _change(name, dict.fromkeys(keys), "Unsetting " + ", ".join(keys))


@command(apps, "releases")
def releases(
    app: AppOption = None,
    num: Annotated[int, typer.Option("-n", "--num", help="how many")] = 15,
    as_json: JsonOption = False,
) -> None:
    """The release history, newest first, like a changelog."""
    name = resolve(app)
    rows = api().get(f"/apps/{name}/releases", limit=num)
    if as_json:
        return print_json(rows)
    out.print(f"=== {name} releases", markup=False)
    for row in rows:
        status = "" if row["status"] == "succeeded" else f"  [{_status(row)}]"
        out.print(
            f"v{row['version']:<5} {ago(row['created_at']):<16} {row['user'] or '-':<24} "
            f"{row['description']}{status}",
            markup=False,
        )


def _status(row: dict[str, Any]) -> str:
    """'failed', 'canary: 10% until 10:42:07 UTC', 'canary: ending (canary aborted by …)'."""
    if row["status"] != "canary":
        return str(row["status"])
    if row.get("canary_decision"):
        return f"canary: ending ({row.get('canary_reason') or row['canary_decision']})"
    ends = str(row.get("canary_ends_at") or "")[11:19]
    return f"canary: {row.get('canary_percent')}% until {ends} UTC" if ends else "canary"


@command(apps, "releases:info")
def release_info(version: str, app: AppOption = None, as_json: JsonOption = False) -> None:
    """One release: what it runs, who made it, its log."""
    row = api().get(f"/apps/{resolve(app)}/releases/{_version(version)}")
    if as_json:
        return print_json(row)
    out.print(f"=== Release v{row['version']}: {row['description']}", markup=False)
    out.print(
        f"Status:   {_status(row)}{' — ' + row['error'] if row['error'] else ''}", markup=False
    )
    out.print(f"By:       {row['user'] or '-'}, {ago(row['created_at'])}", markup=False)
    out.print(f"Build:    {row['build_id'] or '-'}")
    out.print(f"Config:   {', '.join(row['config_keys']) or '-'}", markup=False)
    for name, version_ in (row["function_versions"] or {}).items():
        out.print(f"Function: {name} → version {version_}", markup=False)
    if row["log"]:
        out.print(row["log"].rstrip(), markup=False)


def _version(text: str) -> int:
    try:
        return int(text.lower().removeprefix("v"))
    except ValueError:
        raise CliError(f"'{text}' is not a release version (like v6)") from None


@command(apps, "rollback")
def rollback(
    version: Annotated[str | None, typer.Argument()] = None,
    app: AppOption = None,
    run_release_phase: Annotated[
        bool,
        typer.Option(
            "--run-release-phase", help="Run the Procfile's release entry before live moves."
        ),
    ] = False,
) -> None:
    """Roll back to vN (default: the release before the current one); the release phase is
    skipped unless --run-release-phase."""
    name = resolve(app)
    body = {
        "version": _version(version) if version else None,
        "run_release_phase": run_release_phase,
    }
    client = api()
    with out.status(f"Rolling back {name}…"):
        row = settle(client, name, client.post(f"/apps/{name}/rollback", body))
    out.print(f"Rolling back {name}… {outcome(row)} ({row['description']})", markup=False)


@command(apps, "functions")
def functions(app: AppOption = None, as_json: JsonOption = False) -> None:
    """The app's functions, one per Procfile entry."""
    rows = api().get(f"/apps/{resolve(app)}/functions")
    if as_json:
        return print_json(rows)
    table = Table("function", "handler", "memory", "timeout", "live version")
    for row in rows:
        table.add_row(
            row["function_name"],
            row["handler"],
            f"{row['memory']} MB",
            f"{row['timeout']} s",
            live_version(row),
        )
    out.print(table)


def _resource(app: str | None, function: str, body: dict[str, Any]) -> None:
    name = resolve(app)
    client = api()
    with out.status(f"Changing {function} of {name}…"):
        result = client.patch(f"/apps/{name}/functions/{function}", body)
        release = result["release"] and settle(client, name, result["release"])
    if release is None:
        out.print(result["detail"], markup=False)
    else:
        out.print(f"{release['description']}… {outcome(release)}", markup=False)


@command(apps, "resource:memory")
def memory(function: str, mb: int, app: AppOption = None) -> None:
    """Set a function's memory in MB (128 to 10240)."""
    _resource(app, function, {"memory": mb})


@command(apps, "resource:timeout")
def timeout(function: str, seconds: int, app: AppOption = None) -> None:
    """Set a function's timeout in seconds (1 to 900)."""
    _resource(app, function, {"timeout": seconds})


@command(apps, "builds")
def builds(app: AppOption = None, as_json: JsonOption = False) -> None:
    """The app's builds, newest first."""
    rows = api().get(f"/apps/{resolve(app)}/builds")
    if as_json:
        return print_json(rows)
    for row in rows:
        commit = _commit(row)
        out.print(
            f"{row['id']:<6} {row['status']:<10} {commit}  {ago(row['created_at'])}", markup=False
        )


def _commit(row: dict[str, Any]) -> str:
    """'3f9c1ab'; '1111111 (unverified)' for an upload's commit the server could not verify
    (laambda/services/upload_commit.py); '-' for neither."""
    if row["commit"]:
        return str(row["commit"])[:7]
    label = row.get("commit_label")
    return f"{str(label)[:7]} (unverified)" if label else "-"


@command(apps, "builds:info")
def build_info(build_id: int, app: AppOption = None, as_json: JsonOption = False) -> None:
    """One build with its log."""
    row = api().get(f"/apps/{resolve(app)}/builds/{build_id}")
    if as_json:
        return print_json(row)
    out.print(f"=== Build {row['id']}: {row['status']} ({_commit(row)})", markup=False)
    if row["error"]:
        out.print(f"Error: {row['error']}", markup=False)
    out.print(row["log"].rstrip(), markup=False)


@command(apps, "builds:cancel")
def cancel(build_id: Annotated[int | None, typer.Argument()] = None, app: AppOption = None) -> None:
    """Stop a running build (default: the newest one still running)."""
    name = resolve(app)
    client = api()
    if build_id is None:
        running = [
            b for b in client.get(f"/apps/{name}/builds") if b["status"] in ("pending", "running")
        ]
        if not running:
            raise CliError(f"{name} has no running build")
        build_id = running[0]["id"]
    row = client.post(f"/apps/{name}/builds/{build_id}/cancel")
    out.print(f"Cancelling build {row['id']} of {name}… {row['status']}", markup=False)


@command(apps, "builds:cache:purge")
def purge(app: AppOption = None) -> None:
    """Forget the app's dependency cache: the next build installs from scratch."""
    name = resolve(app)
    result = api().delete(f"/apps/{name}/build-cache")
    out.print(f"Purged {result['purged']} dependency cache entries of {name}", markup=False)


@command(apps, "git:remote")
def git_remote(app: AppOption = None) -> None:
    """Add (or point) this repository's `laambda` remote at the app."""
    if not app:
        raise CliError("which app? pass -a APP")
    row = api().get(f"/apps/{app}")
    if (problem := add_remote(row["git_url"])) is not None:
        raise CliError(f"cannot set the laambda remote: {problem}")
    out.print(f"set git remote laambda to {row['git_url']}", markup=False)
