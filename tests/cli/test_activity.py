"""`laambda activity`: who changed what, for one app or for everything the user may see."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli


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
    assert lines[2].split()[3:] == ["release.config", "Set", "BUCKET"]
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
