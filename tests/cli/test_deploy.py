"""`laambda deploy` on the real platform: the CLI uploads to the API (uvicorn on a socket),
a real worker builds and releases to moto, and the CLI follows the log over server-sent events.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laambda.db.base import utcnow
from laambda.db.models import ApiToken, App, AuditEvent, Build
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from laambda.services.teardown import repository_path
from tests.support.aws import ensure_role
from tests.support.cli import Cli, serving
from tests.support.live_worker import LiveWorker
from tests.support.platform import python_app


@pytest.fixture
def cli(
    live_worker: LiveWorker, committed_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Cli]:
    """The CLI against an API that queues builds to the live worker."""
    settings = live_worker.settings
    ObjectStore(aws.s3_client(settings), settings.artifact_bucket).ensure_bucket()
    ensure_role(settings)
    with serving(settings, committed_sessions, tmp_path) as running:
        yield running


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def _git_repo(folder: Path, files: dict[str, str]) -> str:
    _write(folder, files)
    env = ["-c", "user.name=CI", "-c", "user.email=ci@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*env, "commit", "-qm", "app"]):
        subprocess.run(["git", *args], cwd=folder, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True)
    return head.stdout.strip()


def _build(cli: Cli, app: str) -> Build | None:
    """The app's newest build."""
    query = select(Build).join(App, App.id == Build.app_id).where(App.name == app)
    with session_scope(cli.sessions) as session:
        return session.scalars(query.order_by(Build.id.desc())).first()


def _built(cli: Cli, app: str) -> Build:
    build = _build(cli, app)
    assert build is not None
    return build


def _source_names(cli: Cli, build: Build) -> set[str]:
    store = ObjectStore(aws.s3_client(cli.settings), cli.settings.artifact_bucket)
    data = store.get_bytes(build.source_key or "")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {member.name for member in archive.getmembers() if member.isfile()}


def _events(cli: Cli, app: str, build_id: int, token: str) -> list[tuple[str, Any]]:
    """The stream endpoint's events, as (kind, data)."""
    url = f"{cli.url}/v1/apps/{app}/builds/{build_id}/stream"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    events = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        kind = next((line[7:] for line in lines if line.startswith("event: ")), "message")
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        if lines:
            events.append((kind, json.loads(data)))
    return events


def test_deploy_a_git_repository_releases_its_last_commit(cli: Cli, tmp_path: Path) -> None:
    assert cli("apps:create", "ci-git").returncode == 0
    repo = tmp_path / "repo"
    repo.mkdir()
    sha = _git_repo(repo, python_app(["web"], marker="from-ci"))
    (repo / "web_mod.py").write_text("uncommitted = True\n")  # not deployed: HEAD is

    done = cli("deploy", "-a", "ci-git", cwd=repo)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"-----> Uploading git archive {sha[:7]}" in done.stdout
    assert re.search(r"-----> Build \d+ queued \(laambda builds:info \d+ -a ci-git\)", done.stdout)
    assert "-----> Deploying 1 function: ci-git-web" in done.stdout
    assert done.stdout.rstrip().endswith("-----> Released v1: ci-git-web")
    assert "uncommitted changes are not deployed" in done.stderr
    build = _built(cli, "ci-git")
    # HEAD was never pushed: no server repository can vouch that the upload is its code
    assert (build.origin, build.commit, build.commit_label, build.status) == (
        "upload",
        None,
        sha,
        "succeeded",
    )
    listed = cli("releases", "-a", "ci-git")
    assert f"Deploy {sha[:7]} (upload, unverified)" in listed.stdout, listed.stdout
    assert f" {sha[:7]} (unverified)  " in cli("builds", "-a", "ci-git").stdout
    assert re.fullmatch(r"sources/ci-git/upload-[0-9a-f-]{36}\.tar\.gz", build.source_key or "")
    # what moto now runs is the committed code
    lam = aws.lambda_client(cli.settings)
    config = lam.get_function_configuration(FunctionName="ci-git-web", Qualifier="live")
    sha256 = build.artifact_sha256 or ""
    assert config["CodeSha256"] == base64.b64encode(bytes.fromhex(sha256)).decode()
    store = ObjectStore(aws.s3_client(cli.settings), cli.settings.artifact_bucket)
    with zipfile.ZipFile(io.BytesIO(store.get_bytes(build.artifact_key or ""))) as artifact:
        assert "# from-ci" in artifact.read("web_mod.py").decode()

    # the stream of an ended build replays its lines and outcome: from Redis, then from the
    # stored log once the stream has expired
    for expired in (False, True):
        if expired:
            client = redis.Redis.from_url(cli.settings.redis_url)
            client.delete(f"laambda:build:{build.uid}:log")
            client.close()
        events = _events(cli, "ci-git", build.id, cli.token)
        assert ("line", "-----> Deploying 1 function: ci-git-web") in events
        assert events[-1] == (
            "done",
            {"status": "succeeded", "detail": "Released v1: ci-git-web"},
        )
        assert all(kind == "line" for kind, _ in events[:-1])


def test_deploy_of_a_commit_the_server_holds_is_that_commit(cli: Cli, tmp_path: Path) -> None:
    assert cli("apps:create", "ci-pushed").returncode == 0
    repo = tmp_path / "repo"
    repo.mkdir()
    sha = _git_repo(repo, python_app(["web"], marker="pushed"))
    # the app's repository on the server, as `git push` of HEAD leaves it
    server = repository_path(cli.settings.data_dir, "ci-pushed")
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(server)], check=True)

    done = cli("deploy", "-a", "ci-pushed", cwd=repo)

    assert done.returncode == 0, done.stdout + done.stderr
    build = _built(cli, "ci-pushed")
    assert (build.commit, build.commit_label) == (sha, None)
    listed = cli("releases", "-a", "ci-pushed").stdout
    assert f"Deploy {sha[:7]}" in listed
    assert "unverified" not in listed + cli("builds", "-a", "ci-pushed").stdout

    # the same files labelled by a short sha or by a hex-named branch of the same commit: a
    # name that could later mean another commit is kept as an unverified label, as typed
    subprocess.run(["git", "branch", "deadbeef1", sha], cwd=server, check=True)
    tarball = subprocess.run(
        ["git", "archive", "--format=tar.gz", "HEAD"], cwd=repo, check=True, capture_output=True
    ).stdout
    for label in (sha[:7], "deadbeef1"):
        uploaded = httpx.post(
            f"{cli.url}/v1/apps/ci-pushed/builds",
            params={"commit": label},
            content=tarball,
            headers={"Authorization": f"Bearer {cli.token}", "Content-Type": "application/gzip"},
            timeout=60,
        )
        assert uploaded.status_code == 202, uploaded.text
        answer = uploaded.json()
        assert (answer["commit"], answer["commit_label"]) == (None, label), answer


def test_deploy_a_plain_folder_leaves_out_what_gitignore_names(cli: Cli, tmp_path: Path) -> None:
    assert cli("apps:create", "ci-plain").returncode == 0
    folder = _write(
        tmp_path / "plain",
        python_app(["web"])
        | {
            ".gitignore": "secrets.txt\nbuild/\n",
            "secrets.txt": "password",
            "build/out.bin": "x",
            "lib/.gitignore": "*.log\n",
            "lib/debug.log": "noise",
            "lib/util.py": "X = 1\n",
        },
    )

    done = cli("deploy", "-a", "ci-plain", str(folder))

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"-----> Uploading the files of {folder}" in done.stdout
    assert "-----> Released v1: ci-plain-web" in done.stdout
    build = _built(cli, "ci-plain")
    assert build.commit is None
    names = _source_names(cli, build)
    assert {"Procfile", "web_mod.py", "lib/util.py", ".gitignore"} <= names
    assert not names & {"secrets.txt", "build/out.bin", "lib/debug.log"}


def test_a_failing_build_exits_non_zero_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    assert cli("apps:create", "ci-fails").returncode == 0
    files = python_app(["web"])
    del files["Procfile"]
    folder = _write(tmp_path / "noprocfile", files)

    done = cli("deploy", "-a", "ci-fails", str(folder))

    assert done.returncode == 1
    assert " !     Deploy failed: no Procfile found at the root of the repository" in done.stderr
    build = _built(cli, "ci-fails")
    events = _events(cli, "ci-fails", build.id, cli.token)
    kind, data = events[-1]
    assert kind == "done"
    assert data["status"] == "failed"
    assert data["detail"].startswith("no Procfile found")


def test_a_stray_link_out_of_a_plain_folder_is_left_out_with_a_warning(
    cli: Cli, tmp_path: Path
) -> None:
    """As `git push` of the same tree drops it with a line (it used to fail the deploy); the
    server still refuses such a tarball from other clients (tests/api/test_uploads.py)."""
    assert cli("apps:create", "ci-hostile").returncode == 0
    folder = _write(tmp_path / "hostile", python_app(["web"]))
    (folder / "passwdlink").symlink_to("/etc/passwd")

    done = cli("deploy", "-a", "ci-hostile", str(folder))

    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        " !     left out symlink passwdlink -> /etc/passwd: it points outside the folder"
    ) in done.stderr
    assert "-----> Released v1: ci-hostile-web" in done.stdout


def test_a_deploy_token_deploys_its_app_and_nothing_else(cli: Cli, tmp_path: Path) -> None:
    for name in ("ci-token", "ci-other"):
        assert cli("apps:create", name).returncode == 0
    made = cli("tokens:create", "--app", "ci-token", "--scope", "deploy", "--expires", "90d")
    assert made.returncode == 0, made.stderr
    assert "Created deploy token for ci-token 'deploy ci-token'" in made.stdout
    token = re.search(r"token \(shown once\): (lmb_\S+)", made.stdout)
    assert token is not None
    listed = cli("tokens").stdout
    assert token[1] not in listed
    assert re.search(r"deploy ci-token  lmb_\S+…  ci-token  deploy  20\d\d-", listed)
    ci = dataclasses.replace(cli, token=token[1])
    folder = _write(tmp_path / "app", python_app(["web"]))

    deployed = ci("deploy", "-a", "ci-token", str(folder))
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "-----> Released v1: ci-token-web" in deployed.stdout

    with session_scope(cli.sessions) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "build.create")).one()
        assert (event.app_name, event.detail["origin"]) == ("ci-token", "upload")
        assert event.detail["token"] == f"deploy ci-token ({token[1][:8]}…)"

    refused = "this token may only deploy ci-token"
    for args in (
        ("deploy", "-a", "ci-other", str(folder)),
        ("config:set", "A=1", "-a", "ci-token"),
        ("releases", "-a", "ci-token"),
        ("rollback", "-a", "ci-token"),
        ("tokens",),
        ("apps",),
    ):
        answer = ci(*args)
        assert answer.returncode == 1, args
        assert refused in answer.stderr, (args, answer.stderr)

    with session_scope(cli.sessions) as session:
        row = session.scalars(select(ApiToken).where(ApiToken.scope == "deploy")).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    expired = ci("deploy", "-a", "ci-token", str(folder))
    assert expired.returncode == 1
    assert "expired on" in expired.stderr

    trail = cli("activity", "-a", "ci-token").stdout
    assert f"build.create           via token deploy ci-token ({token[1][:8]}…)" in trail, trail

    revoked = cli("tokens:revoke", token[1][:8])
    assert revoked.returncode == 0, revoked.stderr
    assert "Revoked token" in revoked.stdout
    assert "ci-token" not in cli("tokens").stdout


def test_revoking_the_token_the_cli_signs_in_with_asks_first(cli: Cli) -> None:
    made = cli("tokens:create", "--name", "spare")
    spare = re.search(r"token \(shown once\): (lmb_\S+)", made.stdout)
    assert spare is not None
    own = cli.token[:8]

    kept = cli("tokens:revoke", own, stdin="no\n")
    assert kept.returncode == 1
    assert "is the one this CLI signs in with: revoking it signs you out" in kept.stderr
    assert "laambda: 'no' is not '" + own + "': nothing was revoked" in kept.stderr
    assert cli("tokens").returncode == 0

    done = cli("tokens:revoke", own, "--confirm", own)
    assert done.returncode == 0, done.stderr
    assert "You are signed out: `laambda login` with another token" in done.stdout
    assert cli("tokens").returncode == 1
    assert dataclasses.replace(cli, token=spare[1])("tokens").returncode == 0


def test_a_whole_token_or_a_longer_prefix_revokes_it_and_is_never_echoed(cli: Cli) -> None:
    """A leaked token is what gets pasted: found by its hash; no message repeats more of a
    token than its 8-character prefix."""
    made = [cli("tokens:create", "--name", name).stdout for name in ("leaked", "spare")]
    leaked, spare = (re.findall(r"token \(shown once\): (lmb_\S+)", text)[0] for text in made)

    stranger = "lmb_" + "~" * 43  # no token has a '~'
    unknown = cli("tokens:revoke", stranger)
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "laambda: you have no token 'lmb_~~~~…': `laambda tokens` lists them\n",
    )

    revoked = cli("tokens:revoke", leaked)
    assert revoked.returncode == 0, revoked.stderr
    assert re.fullmatch(
        rf"Revoked token \d+ 'leaked' \({re.escape(leaked[:8])}…\)\n", revoked.stdout
    )
    assert leaked[8:16] not in revoked.stdout + revoked.stderr
    assert dataclasses.replace(cli, token=leaked)("tokens").returncode == 1

    longer = cli("tokens:revoke", spare[:12])
    assert longer.returncode == 0, longer.stderr
    assert "'spare'" in longer.stdout
    assert "spare" not in cli("tokens").stdout


def test_deploying_an_empty_commit_says_what_was_looked_for(cli: Cli, tmp_path: Path) -> None:
    """`git archive` of an empty tree (which Python's tarfile cannot open) is sent and refused
    by the build as a tree without an app, never a traceback."""
    assert cli("apps:create", "empty1").returncode == 0
    folder = tmp_path / "empty"
    folder.mkdir()
    env = ["-c", "user.name=CI", "-c", "user.email=ci@example.com"]
    for args in (["init", "-q", "-b", "main"], [*env, "commit", "-q", "--allow-empty", "-m", "e"]):
        subprocess.run(["git", *args], cwd=folder, check=True)

    done = cli("deploy", "-a", "empty1", str(folder))

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        " !     Deploy failed: no supported app found at the root of the repository: looked for"
    ) in done.stderr, done.stderr
