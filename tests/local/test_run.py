"""`laambda run` runs a built artifact on this machine, as a thin client of the API: it reads
what to run and downloads the artifact with the user's token, with no server setting (no
secret key, no database URL) in its environment, and only for the apps its user may see."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from laambda.crypto import Cipher
from laambda.db.models import Collaborator, ConfigVar
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.domain.resources import DEFAULT_MEMORY, DEFAULT_TIMEOUT
from laambda.objectstore import ObjectStore
from laambda.services.user import user_service
from tests.support import factories
from tests.support.archives import zip_of
from tests.support.cli import (
    Cli,  # noqa: F401
    cli,  # noqa: F401
)
from tests.support.local import PYTHON_CODE
from tests.support.released import deploy

PROCFILE = {"hello": "main.hello", "boom": "main.boom"}


@dataclasses.dataclass
class Built:
    app: str
    old_build: int
    developer: Cli  # a collaborator (not an admin)
    stranger: Cli  # a user who is no collaborator of the app


@pytest.fixture
def built(cli: Cli, tmp_path: Path) -> Built:  # noqa: F811
    """An app whose live release runs a built artifact (config GREETING=hej), and an older
    build of other code, both in the platform's object store."""
    settings = cli.settings
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    shas: list[str] = []
    for code in (
        {"main.py": "def hello(event, context):\n    return 'old code'\n"},
        PYTHON_CODE,
    ):
        path = zip_of(code, tmp_path / f"{len(shas)}.zip")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        store.put_file(f"artifacts/{sha}.zip", path)
        shas.append(sha)
    with session_scope(cli.sessions) as session:
        developer, developer_token = user_service.create(session, "dev@example.com")
        _, stranger_token = user_service.create(session, "eve@example.com")
        factories.bind(session)
        app = factories.app(name=f"run{os.urandom(3).hex()}", owner_id=developer.id)
        session.add(Collaborator(app_id=app.id, user_id=developer.id))
        old = factories.build(
            app_id=app.id,
            procfile=PROCFILE,
            artifact_sha256=shas[0],
            artifact_key=f"artifacts/{shas[0]}.zip",
        )
        session.add(
            ConfigVar(
                app_id=app.id,
                key="GREETING",
                value_encrypted=Cipher(settings.secret_key).encrypt("hej"),
            )
        )
        session.commit()
        deploy(
            session,
            app,
            developer,
            settings,
            procfile=PROCFILE,
            runtime="python3.12",
            artifact_sha256=shas[1],
            artifact_key=f"artifacts/{shas[1]}.zip",
        )
        name, old_id = app.name, old.id
    return Built(
        name,
        old_id,
        dataclasses.replace(cli, token=developer_token),
        dataclasses.replace(cli, token=stranger_token),
    )


def test_a_collaborator_runs_the_live_release_with_and_without_config(built: Built) -> None:
    app, run = built.app, built.developer
    done = run("run", "hello", "--data", '{"who": "ada"}', "-a", app)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["event"], answer["greeting"]) == ({"who": "ada"}, "hej")
    assert answer["function"] == f"{app}-hello"
    assert "hello from the handler {'who': 'ada'}" in done.stderr
    assert "START RequestId:" in done.stderr
    assert "REPORT RequestId:" in done.stderr
    # the artifact is kept unpacked per sha256 in the user's cache directory
    assert len(list((run.home / ".cache" / "laambda" / "run" / "code").iterdir())) == 1

    bare = run("run", "hello", "--no-config", "-a", app)
    assert bare.returncode == 0, bare.stderr
    assert json.loads(bare.stdout)["greeting"] is None

    failed = run("run", "boom", "--data", '{"why": "here"}', "-a", app)
    assert failed.returncode == 1
    assert "laambda: boom failed (Unhandled): ValueError: boom: here" in failed.stderr


def test_the_api_answers_the_spec_and_the_zip(built: Built) -> None:
    headers = {"Authorization": f"Bearer {built.developer.token}"}
    api = f"{built.developer.url}/v1/apps/{built.app}"
    spec = httpx.get(f"{api}/run/hello", params={"config": "false"}, headers=headers).json()
    assert (spec["handler"], spec["runtime"], spec["environment"]) == (
        "main.hello",
        "python3.12",
        {},
    )
    assert (spec["timeout"], spec["memory"]) == (DEFAULT_TIMEOUT, DEFAULT_MEMORY)
    # the function name `laambda functions` lists names the same entry
    named = httpx.get(f"{api}/run/{built.app}-hello", params={"config": "false"}, headers=headers)
    assert (named.json()["entry"], named.json()["function"]) == ("hello", f"{built.app}-hello")
    got = httpx.get(f"{api}/builds/{spec['build_id']}/artifact", headers=headers)
    assert got.headers["content-type"] == "application/zip"
    assert hashlib.sha256(got.content).hexdigest() == spec["artifact_sha256"]


def test_a_given_build_and_refusals(built: Built, tmp_path: Path) -> None:
    app, run = built.app, built.developer
    event = tmp_path / "event.json"
    event.write_text('{"who": "from a file"}')
    from_file = run("run", "hello", "--file", str(event), "-a", app)
    assert json.loads(from_file.stdout)["event"] == {"who": "from a file"}
    old = run("run", "hello", "--build", str(built.old_build), "-a", app)
    assert old.returncode == 0, old.stderr
    assert json.loads(old.stdout) == "old code"
    missing = run("run", "nope", "-a", app)
    assert missing.returncode == 1
    assert "has no function 'nope'; its functions: boom, hello" in missing.stderr
    no_build = run("run", "hello", "--build", "999999999", "-a", app)
    assert no_build.stderr == f"laambda: app '{app}' has no build 999999999\n"
    bad = run("run", "hello", "--data", "{oops", "-a", app)
    assert bad.stderr.startswith("laambda: the event is not JSON")


def test_a_non_collaborator_is_refused_by_the_api(built: Built) -> None:
    refused = built.stranger("run", "hello", "-a", built.app)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"laambda: permission denied: you are not a collaborator of '{built.app}'; its owner "
        f"or an admin may add you (`laambda access:add eve@example.com -a {built.app}`)\n"
    )
    assert refused.stdout == ""
    artifact = built.stranger("run", "hello", "--build", str(built.old_build), "-a", built.app)
    assert "permission denied" in artifact.stderr
    assert not (built.stranger.home / ".cache" / "laambda" / "run").exists()
