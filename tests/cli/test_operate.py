"""event-sources, logs and metrics from the CLI, against the API and moto's server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from laambda.db.models import App, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from tests.support import factories, released
from tests.support.cli import Cli
from tests.support.observe import put, write


@pytest.fixture
def live(cli: Cli, tmp_path: Path) -> str:
    """An app whose create and resize functions are live in moto."""
    with session_scope(cli.sessions) as session:
        factories.bind(session)
        user = session.query(User).one()
        app = released.recorded_app(session, user, cli.settings)
        name = app.name
    store = ObjectStore(aws.s3_client(cli.settings), cli.settings.artifact_bucket)
    store.ensure_bucket()
    with session_scope(cli.sessions) as session:
        released.release_in_aws(
            session.query(App).filter_by(name=name).one(), cli.settings, store, tmp_path
        )
    return name


def test_event_sources(cli: Cli, live: str) -> None:
    added = cli("event-sources:add", "create", "schedule:rate(5 minutes)", "-a", live)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("schedule  schedule:rate(5 minutes)")
    http = cli("event-sources:add", "create", "http", "-a", live)
    assert "http" in http.stdout
    assert "https://" in http.stdout or "http://" in http.stdout
    listed = json.loads(cli("event-sources", "create", "-a", live, "--json").stdout)
    assert sorted(row["kind"] for row in listed) == ["http", "schedule"]
    bad = cli("event-sources:add", "create", "arn:aws:s3:::bucket", "-a", live)
    assert bad.returncode == 1
    assert "not supported" in bad.stderr
    removed = cli("event-sources:remove", "create", "schedule:rate(5 minutes)", "-a", live)
    assert removed.stdout.strip() == "Removed schedule:rate(5 minutes)"
    cleared = cli("event-sources:clear", "create", "-a", live)
    assert cleared.stdout.strip() == "Removed 1 event sources of create"
    assert "create has no event sources" in cli("event-sources", "create", "-a", live).stdout


def test_logs_in_order_once_heroku_style(cli: Cli, live: str) -> None:
    logs = aws.client("logs", cli.settings)
    base = int(time.time() * 1000) - 60_000
    write(logs, f"{live}-create", "a", [(base, "first\n"), (base + 2000, "third\n")])
    write(logs, f"{live}-resize", "b", [(base + 1000, "second\n")])
    shown = cli("logs", "--since", "5m", "-a", live)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "app[create]: first",
        "app[resize]: second",
        "app[create]: third",
    ]


def test_metrics_table_and_json(cli: Cli, live: str) -> None:
    put(cli.settings, f"{live}-create", "Invocations", [1, 1], ago=5)
    body = json.loads(cli("metrics", "-a", live, "--json").stdout)
    rows = {row["name"]: row for row in body["functions"]}
    assert rows["create"]["invocations"] == 2
    table = cli("metrics", "-a", live).stdout
    assert f"{live}-create" in table
    assert "invocations" in table


@pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)
def test_invoke_shows_a_failed_invocation_as_an_error(
    cli: Cli, live: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)  # moto cannot run code: it answers an error
    done = cli("invoke", "create", "--data", '{"a": 1}', "-a", live)
    assert done.returncode == 1
    assert done.stderr.startswith("laambda: create failed (")
    bad = cli("invoke", "create", "--data", "{not json", "-a", live)
    assert bad.returncode == 1
    assert bad.stderr.startswith("laambda: the event is not JSON")
