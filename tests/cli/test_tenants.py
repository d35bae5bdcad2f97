"""Roles through the CLI: refusals say who may, the owner transfers, destroy says what went."""

from __future__ import annotations

import dataclasses

from laambda.db.session import session_scope
from laambda.services.user import user_service
from tests.support.cli import Cli


def test_owner_and_collaborator_through_the_cli(cli: Cli) -> None:
    with session_scope(cli.sessions) as session:
        _, token = user_service.create(session, "bob@example.com")
    bob = dataclasses.replace(cli, token=token)
    assert cli("apps:create", "thumbs").returncode == 0
    assert cli("access:add", "bob@example.com", "-a", "thumbs").returncode == 0
    listed = cli("access", "-a", "thumbs").stdout.splitlines()
    assert listed == ["alice@example.com  (owner, admin)", "bob@example.com  (collaborator)"]

    refused = bob("apps:destroy", "-a", "thumbs", "--confirm", "thumbs")
    assert (refused.returncode, refused.stderr) == (
        1,
        "laambda: only the owner of 'thumbs' (alice@example.com) or an admin may destroy it\n",
    )
    not_his = bob("apps:transfer", "bob@example.com", "-a", "thumbs")
    assert "may transfer it" in not_his.stderr
    assert bob("config:set", "BUCKET=photos", "-a", "thumbs").returncode == 0

    moved = cli("apps:transfer", "bob@example.com", "-a", "thumbs")
    assert moved.stdout.strip() == "Transferred thumbs to bob@example.com"
    assert "Owner:      bob@example.com" in bob("apps:info", "-a", "thumbs").stdout
    destroyed = bob("apps:destroy", "-a", "thumbs", "--confirm", "thumbs")
    assert destroyed.returncode == 0, destroyed.stderr
    assert destroyed.stdout.strip().endswith("Destroyed thumbs")
    assert "does not exist" in bob("apps:info", "-a", "thumbs").stderr


def test_a_pipeline_owner_is_removed_only_after_a_transfer(cli: Cli) -> None:
    with session_scope(cli.sessions) as session:
        _, token = user_service.create(session, "eve@example.com")
    eve = dataclasses.replace(cli, token=token)
    assert eve("pipelines:create", "evepipe").returncode == 0
    refused = cli("users:remove", "eve@example.com")
    assert (refused.returncode, refused.stderr) == (
        1,
        "laambda: eve@example.com owns pipeline evepipe: transfer each first "
        "(`laambda pipelines:transfer NEW_OWNER -p PIPELINE`) or destroy it\n",
    )
    unnamed = eve("pipelines:transfer", "alice@example.com")
    assert unnamed.returncode == 1
    assert "pass -p PIPELINE" in unnamed.stderr
    moved = eve("pipelines:transfer", "alice@example.com", "-p", "evepipe")
    assert (
        moved.stdout.strip()
        == "Transferred pipeline evepipe to alice@example.com with 0 review apps"
    )
    assert cli("users:remove", "eve@example.com").stdout.strip() == "Removed user eve@example.com"
    assert "Owner:   alice@example.com" in cli("pipelines:info", "evepipe").stdout
