"""`laambda deploy`: build and release the working tree without git over SSH (for CI).

The tree is packed (laambda/cli/pack.py), uploaded to `POST /v1/apps/{app}/builds`, and the
build's log followed over server-sent events to its outcome, printed as a push prints it. The
exit code is 0 only when the build was released (or changed nothing), so a CI job fails with
the build or the release.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from laambda.building.source_check import human_size
from laambda.cli.client import ApiClient, CliError
from laambda.cli.common import AppOption, api, command, err, out
from laambda.cli.gitremote import app_from_url, remote_url
from laambda.cli.pack import pack

deploy_commands = typer.Typer()

DirArgument = Annotated[
    Path,
    typer.Argument(
        help="the folder to deploy (default: this one); inside a git repository its last commit"
    ),
]


@command(deploy_commands, "deploy")
def deploy(app: AppOption = None, folder: DirArgument = Path(".")) -> None:
    """Build and release FOLDER (`git archive HEAD` in a repository, else its files minus what
    .gitignore names) and follow the build like a push; exits 1 when it fails."""
    name = app or _app_of(folder)
    client = api()
    with tempfile.TemporaryDirectory(prefix="laambda-deploy-") as work:
        packed = pack(folder, Path(work) / "source.tar.gz")
        for warning in packed.warnings:
            err.print(f" !     {warning}", markup=False)
        size = packed.tarball.stat().st_size
        _say(f"-----> Uploading {packed.origin} ({human_size(size)}) to {name}")
        build = client.upload(f"/apps/{name}/builds", packed.tarball, commit=packed.commit)
    _say(f"-----> Build {build['id']} queued (laambda builds:info {build['id']} -a {name})")
    if not follow(client, name, build["id"]):
        raise typer.Exit(1)


def follow(client: ApiClient, app: str, build_id: int) -> bool:
    """Print the build's lines as they come and its outcome; True when it was released."""
    for event in client.events(f"/apps/{app}/builds/{build_id}/stream"):
        if event.kind in ("line", "progress"):
            _say(str(event.json()))
        if event.kind != "done":
            continue
        outcome = event.json()
        if outcome["status"] == "succeeded":
            _say(f"-----> {outcome['detail']}")
            return True
        reason = outcome["detail"] or f"the build was {outcome['status']}"
        err.print(f" !     Deploy failed: {reason}", markup=False)
        return False
    raise CliError(
        f"the log ended before the build did: see `laambda builds:info {build_id} -a {app}`"
    )


def _app_of(folder: Path) -> str:
    url = remote_url(cwd=str(folder))
    found = app_from_url(url) if url else None
    if found is None:
        raise CliError(
            "which app? pass -a APP, or deploy a repository with a `laambda` git remote "
            "(`laambda git:remote -a APP` adds one)"
        )
    return found


def _say(line: str) -> None:
    out.print(line, markup=False)
