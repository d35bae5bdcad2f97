"""A destroyed app's name, taken again by another user, never leads to the old history."""

from __future__ import annotations

import os
import subprocess

from fastapi.testclient import TestClient

from laambda.api.app import create_app
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.services.user import user_service
from tests.support.platform import python_app
from tests.support.receiver import Person, Site, git


def token(site: Site, person: Person) -> dict[str, str]:
    with session_scope(site.sessions) as session:
        _, secret = user_service.create_token(session, person.user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def over_ssh(site: Site, person: Person, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"GIT_SSH_COMMAND": person.ssh(site.port)}
    return subprocess.run(
        ["git", *args], env=env, capture_output=True, text=True, timeout=120, cwd=site.tmp
    )


def test_a_new_app_of_a_destroyed_name_serves_no_old_commit(site: Site) -> None:
    name = f"reused{os.urandom(3).hex()}"
    alice = site.person(f"alice-{name}@example.com")
    bob = site.person(f"bob-{name}@example.com")
    site.app(name, alice)
    repo = site.repo(name, python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.url(name))
    pushed = site.push(repo, alice, "laambda")
    assert pushed.returncode == 0, pushed.stderr
    old = git(repo, "rev-parse", "HEAD")
    lam = aws.lambda_client(site.settings)
    assert lam.get_function(FunctionName=f"{name}-web")["Configuration"]["FunctionName"]

    api = create_app(site.settings.model_copy(update={"applier": "inline"}))
    api.state.sessions = site.sessions
    with TestClient(api) as client:
        destroyed = client.delete(f"/v1/apps/{name}", headers=token(site, alice))
        assert destroyed.status_code == 200, destroyed.text
        created = client.post("/v1/apps", json={"name": name}, headers=token(site, bob))
        assert created.status_code == 201, created.text

    names = [f["FunctionName"] for f in lam.list_functions(MaxItems=1000)["Functions"]]
    assert f"{name}-web" not in names
    listed = over_ssh(site, bob, "ls-remote", site.url(name))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == ""
    clone = site.tmp / "bobs-clone"
    cloned = over_ssh(site, bob, "clone", site.url(name), str(clone))
    assert cloned.returncode == 0, cloned.stderr
    assert "empty repository" in cloned.stderr
    fetched = subprocess.run(
        ["git", "fetch", "origin", old],
        cwd=clone,
        env=os.environ | {"GIT_SSH_COMMAND": bob.ssh(site.port)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fetched.returncode != 0
    # and alice, no longer a collaborator of the new app, is refused
    refused = over_ssh(site, alice, "ls-remote", site.url(name))
    assert refused.returncode != 0
    assert "not a collaborator" in refused.stderr
