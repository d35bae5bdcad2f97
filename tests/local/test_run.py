"""`laambda run` runs a built artifact on this machine with nothing of the platform running:
no API, no worker, no local cloud; only the database and the object store it reads from."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import ConfigVar
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.deploy.s3 import ObjectStore
from tests import factories
from tests.api.test_releases import deploy
from tests.local.conftest import PYTHON_CODE, artifact

LAAMBDA = str(Path(sys.executable).with_name("laambda"))
PROCFILE = {"hello": "main.hello", "boom": "main.boom"}


@pytest.fixture
def built(
    committed_sessions: sessionmaker[Session],
    database_url: str,
    moto_url: str,
    tmp_path: Path,
) -> tuple[str, int, dict[str, str]]:
    """An app whose live release runs a built artifact (config GREETING=hej), and an older
    build of other code; returns the app, the older build's id and the environment."""
    settings = Settings(
        database_url=database_url,
        aws_endpoint_url=moto_url,
        artifact_bucket=f"laambda-run-{os.urandom(4).hex()}",
        data_dir=tmp_path / "data",
    )
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    shas: list[str] = []
    for code in (
        {"main.py": "def hello(event, context):\n    return 'old code'\n"},
        PYTHON_CODE,
    ):
        path = artifact(code, tmp_path / f"{len(shas)}.zip")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        store.put_file(f"artifacts/{sha}.zip", path)
        shas.append(sha)
    with session_scope(committed_sessions) as session:
        factories.bind(session)
        user = factories.user(is_admin=True)
        app = factories.app(name=f"run{os.urandom(3).hex()}", owner_id=user.id)
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
            user,
            settings,
            procfile=PROCFILE,
            runtime="python3.12",
            artifact_sha256=shas[1],
            artifact_key=f"artifacts/{shas[1]}.zip",
        )
        name, old_id = app.name, old.id
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAAMBDA_")}
    env |= {
        "LAAMBDA_DATABASE_URL": database_url,
        "LAAMBDA_AWS_ENDPOINT_URL": moto_url,
        "LAAMBDA_ARTIFACT_BUCKET": settings.artifact_bucket,
        "LAAMBDA_DATA_DIR": str(settings.data_dir),
        "LAAMBDA_SECRET_KEY": settings.secret_key,
    }
    return name, old_id, env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAAMBDA, "run", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_run_live_release_with_and_without_config(built: tuple[str, int, dict[str, str]]) -> None:
    app, _, env = built
    done = _run(env, "hello", "--data", '{"who": "ada"}', "-a", app)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["event"], answer["greeting"]) == ({"who": "ada"}, "hej")
    assert answer["function"] == f"{app}-hello"
    assert "hello from the handler {'who': 'ada'}" in done.stderr
    assert "START RequestId:" in done.stderr
    assert "REPORT RequestId:" in done.stderr

    bare = _run(env, "hello", "--no-config", "-a", app)
    assert json.loads(bare.stdout)["greeting"] is None

    failed = _run(env, "boom", "--data", '{"why": "here"}', "-a", app)
    assert failed.returncode == 1
    assert "laambda: boom failed (Unhandled): ValueError: boom: here" in failed.stderr


def test_run_a_given_build_and_refusals(
    built: tuple[str, int, dict[str, str]], tmp_path: Path
) -> None:
    app, old_build, env = built
    event = tmp_path / "event.json"
    event.write_text('{"who": "from a file"}')
    from_file = _run(env, "hello", "--file", str(event), "-a", app)
    assert json.loads(from_file.stdout)["event"] == {"who": "from a file"}
    old = _run(env, "hello", "--build", str(old_build), "-a", app)
    assert old.returncode == 0, old.stderr
    assert json.loads(old.stdout) == "old code"
    missing = _run(env, "nope", "-a", app)
    assert missing.returncode == 1
    assert "has no function 'nope'; its functions: boom, hello" in missing.stderr
    bad = _run(env, "hello", "--data", "{oops", "-a", app)
    assert bad.stderr.startswith("laambda: the event is not JSON")
