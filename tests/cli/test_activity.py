"""`laambda activity`: who changed what, for one app or for everything the user may see."""

from __future__ import annotations

import json

from laambda.db.models import User
from laambda.db.session import session_scope
from laambda.services.audit import audit
from tests.support.cli import Cli


def test_activity_of_an_app_and_of_everything(cli: Cli) -> None:
    assert cli("apps:create", "thumbs").returncode == 0
    assert cli("config:set", "BUCKET=photos", "-a", "thumbs").returncode == 0
    assert cli("builds:cache:purge", "-a", "thumbs").returncode == 0

    shown = cli("activity", "-a", "thumbs")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "=== thumbs activity"
    assert lines[1].split()[:4] == ["just", "now", "alice@example.com", "build_cache.purge"]
    assert lines[1].endswith("0 cached entries removed")
    assert lines[2].split()[3:] == ["release.config", "v1", "Set", "BUCKET"]
    assert lines[3].split()[3:] == ["app.create"]
    assert "photos" not in shown.stdout

    rows = json.loads(cli("activity", "-a", "thumbs", "--json", "-n", "2").stdout)
    assert [(r["action"], r["app"], r["user"]) for r in rows] == [
        ("build_cache.purge", "thumbs", "alice@example.com"),
        ("release.config", "thumbs", "alice@example.com"),
    ]

    everything = cli("activity").stdout.splitlines()
    assert everything[0] == "=== activity"
    assert everything[-1].split()[3:] == ["-", "user.create", "alice@example.com"]
    assert any(line.split()[3:5] == ["thumbs", "release.config"] for line in everything)


def test_activity_of_an_app_one_may_not_see(cli: Cli) -> None:
    missing = cli("activity", "-a", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "laambda: app 'nope' does not exist"


def test_events_without_a_user_or_from_pipelines_say_what_changed(cli: Cli) -> None:
    """The platform's canary decisions, pipeline changes, review apps and uploads each get a
    one-line summary in the table (the rest stays in --json)."""
    assert cli("apps:create", "shop").returncode == 0
    with session_scope(cli.sessions) as session:
        alice = session.query(User).one()
        for user, action, detail in (
            (
                None,
                "release.canary_complete",
                {"version": 7, "reason": "canary healthy for 5 minutes"},
            ),
            (
                None,
                "release.canary_rollback",
                {"version": 8, "reason": "canary: 3 errors in 2 minutes"},
            ),
            (alice, "pipeline.branch", {"pipeline": "p", "branch": "dev", "previous": "main"}),
            (
                alice,
                "pipeline.stage",
                {"pipeline": "p", "stage": "production", "previous": "staging"},
            ),
            (
                alice,
                "pipeline.promote",
                {
                    "pipeline": "p",
                    "source": "shop-staging",
                    "version": 3,
                    "release": 9,
                    "build": 12,
                },
            ),
            (
                alice,
                "reviewapp.destroy",
                {"pipeline": "p", "branch": "feature-x", "reason": "branch deleted"},
            ),
            (alice, "build.upload", {"build": 13, "commit": "3f9c1ab" + "0" * 33, "token": "ci"}),
        ):
            audit.record(session, user, action=action, app="shop", **detail)
    lines = cli("activity", "-a", "shop").stdout.splitlines()
    expected = {
        "release.canary_complete": "v7: canary healthy for 5 minutes",
        "release.canary_rollback": "v8: canary: 3 errors in 2 minutes",
        "pipeline.branch": "branch main → dev",
        "pipeline.stage": "stage staging → production",
        "pipeline.promote": "v3 of shop-staging → v9 (build 12)",
        "reviewapp.destroy": "pipeline p, branch feature-x: branch deleted",
        "build.upload": "build 13 commit 3f9c1ab with token ci",
    }
    for action, said in expected.items():
        line = next(line for line in lines if f" {action} " in line)
        assert line.endswith(f" {said}"), line
    platform_made = next(line for line in lines if " release.canary_complete " in line)
    assert platform_made.split()[2] == "-"  # no user: the platform did it
