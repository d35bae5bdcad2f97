"""`git push` to a pipeline's repository: each branch deploys the app that follows it, other
branches are refused or make review apps, and deleting a review app's branch destroys it."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import select

from laambda.crypto import Cipher
from laambda.db.base import utcnow
from laambda.db.models import App, AuditEvent, Collaborator, EventSource, Pipeline, Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.local.runtime.pool import LocalRuntime
from laambda.worker.context import WorkerContext
from laambda.worker.enqueue import CeleryQueue
from laambda.worker.sweep import Sweeper
from tests.support.pipelines import make_pipeline
from tests.support.platform import python_app
from tests.support.receiver import Person, Site, commit, git
from tests.support.runtime import (
    local_runtime,  # noqa: F401
    runtime_cache,  # noqa: F401
)

# moto's server runs in this process and may leave sockets of its calls open
pytestmark = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)


def functions_named(site: Site, prefix: str) -> list[str]:
    lam = aws.lambda_client(site.settings)
    listed = lam.list_functions(MaxItems=1000)["Functions"]
    return sorted(f["FunctionName"] for f in listed if f["FunctionName"].startswith(prefix))


def live_releases(site: Site, app: str) -> list[int]:
    with session_scope(site.sessions) as session:
        query = (
            select(Release.version)
            .join(App, App.id == Release.app_id)
            .where(App.name == app, Release.status == "succeeded")
            .order_by(Release.version)
        )
        return list(session.scalars(query))


def remote_heads(site: Site, person: Person, url: str) -> dict[str, str]:
    env = os.environ | {"GIT_SSH_COMMAND": person.ssh(site.port)}
    listed = subprocess.run(
        ["git", "ls-remote", "--heads", url], env=env, capture_output=True, text=True, check=True
    )
    return {ref: sha for sha, ref in (line.split() for line in listed.stdout.splitlines())}


def test_each_branch_deploys_the_app_that_follows_it(site: Site) -> None:
    alice = site.person("alice@example.com")
    site.staged_pipeline("shop", alice)
    repo = site.repo("shop", python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.pipeline_url("shop"))
    git(repo, "branch", "develop")

    staged = site.push(repo, alice, "laambda", "develop")
    assert staged.returncode == 0, staged.stderr
    assert "remote: -----> Branch develop deploys shop-staging" in staged.stderr
    assert "Released v1: shop-staging-web" in staged.stderr
    assert live_releases(site, "shop-staging") == [1]
    assert live_releases(site, "shop-prod") == []

    produced = site.push(repo, alice, "laambda", "main")
    assert produced.returncode == 0, produced.stderr
    assert "remote: -----> Branch main deploys shop-prod" in produced.stderr
    assert live_releases(site, "shop-prod") == [1]
    assert live_releases(site, "shop-staging") == [1]
    assert functions_named(site, "shop-") == ["shop-prod-web", "shop-staging-web"]
    with session_scope(site.sessions) as session:
        prod = session.scalars(select(App).where(App.name == "shop-prod")).one()
        assert prod.last_deployed_at is not None

    # a branch no app follows is refused, naming the ones that are, and the ref is not made
    git(repo, "branch", "feature-x")
    refused = site.push(repo, alice, "laambda", "feature-x")
    assert refused.returncode != 0
    assert (
        "no app follows 'feature-x' in pipeline shop; followed: main (shop-prod), "
        "develop (shop-staging); enable review apps with `laambda reviewapps:enable -p shop`"
    ) in refused.stderr
    # two branches at once are refused as one push, before anything is built
    commit(repo, {"extra.py": "x = 1\n"}, "more")
    git(repo, "branch", "-f", "develop")
    both = site.push(repo, alice, "laambda", "main", "develop")
    assert both.returncode != 0
    assert "push one branch at a time" in both.stderr
    # deleting a branch a (non-review) app follows is refused
    deleted = site.push(repo, alice, "laambda", ":develop")
    assert deleted.returncode != 0
    assert "'develop' deploys shop-staging (staging): deleting it is not allowed" in deleted.stderr
    heads = remote_heads(site, alice, site.pipeline_url("shop"))
    assert set(heads) == {"refs/heads/main", "refs/heads/develop"}
    # the apps' own remotes keep working
    own = site.push(repo, alice, site.url("shop-staging"), "develop:main")
    assert own.returncode == 0, own.stderr
    assert live_releases(site, "shop-staging") == [1, 2]


def test_who_may_push_to_a_pipeline(site: Site) -> None:
    alice = site.person("alice@example.com")
    bob = site.person("bob@example.com")
    carol = site.person("carol@example.com")
    site.staged_pipeline("team", alice)
    with session_scope(site.sessions) as session:
        staging = session.scalars(select(App).where(App.name == "team-staging")).one()
        session.add(Collaborator(app_id=staging.id, user_id=bob.user.id))
    repo = site.repo("team", python_app(["web"]))
    git(repo, "branch", "develop")
    url = site.pipeline_url("team")

    # carol has no app of the pipeline: refused before anything is sent
    stranger = site.push(repo, carol, url, "develop")
    assert stranger.returncode != 0
    assert "pipeline 'team' does not exist" in stranger.stderr
    # bob may push develop (he collaborates on its app) but not main
    not_his = site.push(repo, bob, url, "main")
    assert not_his.returncode != 0
    assert "'main' deploys team-prod: permission denied" in not_his.stderr
    assert live_releases(site, "team-prod") == []
    his = site.push(repo, bob, url, "develop")
    assert his.returncode == 0, his.stderr
    assert live_releases(site, "team-staging") == [1]


def test_review_apps_are_made_by_a_push_and_go_with_their_branch(
    site: Site,
    local_runtime: LocalRuntime,  # noqa: ARG001, F811 (functions run only with it)
) -> None:
    alice = site.person("alice@example.com")
    bob = site.person("bob@example.com")
    site.app("web-staging", alice)
    make_pipeline(
        site.sessions,
        "web",
        alice.user,
        follow={"web-staging": ("staging", "develop")},
        review_apps=True,
    )
    with session_scope(site.sessions) as session:
        staging = session.scalars(select(App).where(App.name == "web-staging")).one()
        session.add(Collaborator(app_id=staging.id, user_id=bob.user.id))
        # staging's function URL: review apps get one for the same function
        session.add(EventSource(app_id=staging.id, function="api", kind="http", source="http"))
        pipeline = session.scalars(select(Pipeline).where(Pipeline.name == "web")).one()
        pipeline.review_config_encrypted = Cipher(site.settings.secret_key).encrypt_json(
            {"BUCKET": "previews"}
        )
    repo = site.repo("web", python_app(["api"]))
    git(repo, "remote", "add", "laambda", site.pipeline_url("web"))
    git(repo, "checkout", "-q", "-b", "Feature/X")

    pushed = site.push(repo, bob, "laambda", "Feature/X")
    assert pushed.returncode == 0, pushed.stderr
    assert "remote: -----> Created review app web-feature-x for branch Feature/X" in pushed.stderr
    assert "remote: -----> Review app web-feature-x is live:" in pushed.stderr
    after = pushed.stderr.split("Review app web-feature-x is live:", 1)[1]
    url = after.split("web-feature-x-api: ", 1)[1].split()[0]
    assert url.startswith("http"), after
    with session_scope(site.sessions) as session:
        app = session.scalars(select(App).where(App.name == "web-feature-x")).one()
        assert (app.stage, app.branch, app.review_app) == ("review", "Feature/X", True)
        assert app.owner_id == alice.user.id  # the pipeline's owner; bob collaborates
        assert session.get(Collaborator, (app.id, bob.user.id)) is not None
        urls = session.scalars(select(EventSource.url).where(EventSource.app_id == app.id))
        assert list(urls) == [url]
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.app_name == "web-feature-x")
        ).all()
        assert "reviewapp.create" in actions
    # the function answers, with the review config in its environment
    lam = aws.lambda_client(site.settings)
    answer = lam.invoke(FunctionName="web-feature-x-api", Qualifier="live", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"entry": "api", "bucket": "previews"}
    # and through its function URL (served on a local port by the local runtime)
    with urllib.request.urlopen(url, timeout=30) as response:
        assert json.loads(response.read()) == {"entry": "api", "bucket": "previews"}

    # a second push deploys the same review app again
    commit(repo, python_app(["api"], marker="two"), "two")
    again = site.push(repo, bob, "laambda", "Feature/X")
    assert again.returncode == 0, again.stderr
    assert "Created review app" not in again.stderr
    assert live_releases(site, "web-feature-x") == [1, 2]

    # deleting the branch destroys it, in the database and in AWS
    deleted = site.push(repo, bob, "laambda", ":Feature/X")
    assert deleted.returncode == 0, deleted.stderr
    assert "remote: -----> Review app web-feature-x destroyed" in deleted.stderr
    assert "function web-feature-x-api" in deleted.stderr
    with session_scope(site.sessions) as session:
        assert session.scalars(select(App).where(App.name == "web-feature-x")).first() is None
        trail = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "reviewapp.destroy")
        ).one()
        assert trail.detail["reason"] == "branch deleted"
        assert "previews" not in json.dumps(trail.detail)
    assert functions_named(site, "web-feature-x") == []
    assert "refs/heads/Feature/X" not in remote_heads(site, bob, site.pipeline_url("web"))


def test_a_review_app_whose_ttl_passed_is_destroyed_by_the_sweep(site: Site) -> None:
    alice = site.person("alice@example.com")
    make_pipeline(site.sessions, "ttl", alice.user, follow={}, review_apps=True, ttl_seconds=3600)
    repo = site.repo("ttl", python_app(["web"]))
    git(repo, "checkout", "-q", "-b", "old-idea")
    url = site.pipeline_url("ttl")
    pushed = site.push(repo, alice, url, "old-idea")
    assert pushed.returncode == 0, pushed.stderr
    assert functions_named(site, "ttl-old-idea") == ["ttl-old-idea-web"]

    sweeper = Sweeper(WorkerContext.from_settings(site.settings), CeleryQueue(site.settings))
    assert sweeper.expire_review_apps() == []  # pushed just now
    with session_scope(site.sessions) as session:
        app = session.scalars(select(App).where(App.name == "ttl-old-idea")).one()
        app.last_deployed_at = utcnow() - timedelta(hours=2)
    assert sweeper.expire_review_apps() == ["ttl-old-idea"]
    with session_scope(site.sessions) as session:
        assert session.scalars(select(App).where(App.name == "ttl-old-idea")).first() is None
    assert functions_named(site, "ttl-old-idea") == []
    # its branch leaves the pipeline's repository, so a later push makes the review app again
    assert remote_heads(site, alice, url) == {}
    again = site.push(repo, alice, url, "old-idea")
    assert again.returncode == 0, again.stderr
    assert "Created review app ttl-old-idea" in again.stderr


def test_a_bad_branch_name_and_a_failed_first_deploy_leave_nothing(site: Site) -> None:
    alice = site.person("alice@example.com")
    make_pipeline(site.sessions, "lab", alice.user, follow={}, review_apps=True)
    url = site.pipeline_url("lab")
    repo = site.repo("lab", python_app(["web"]))

    # a branch name the apps.branch column cannot hold is refused by the rule apps:update uses
    long = "/".join(["b" * 99] * 3)  # 299 characters; each part fits a file name
    refused = site.push(repo, alice, url, f"HEAD:refs/heads/{long}")
    assert refused.returncode != 0
    assert "is not a valid branch name: it is 299 characters long, over 255" in refused.stderr
    for leak in ("Traceback", "psycopg", "StringDataRightTruncation", ".venv"):
        assert leak not in refused.stderr
    with session_scope(site.sessions) as session:
        assert session.scalars(select(App).where(App.name.startswith("lab-"))).all() == []

    # a review app whose first deploy fails is destroyed again: the push is refused, so git
    # never made the branch a `git push :branch` would delete
    git(repo, "checkout", "-q", "-b", "broken")
    commit(repo, {"Procfile": "Not An Entry!: web_mod.handler\n"}, "break the Procfile")
    failed = site.push(repo, alice, url, "broken")
    assert failed.returncode != 0
    assert "Created review app lab-broken for branch broken" in failed.stderr
    assert "The first deploy of review app lab-broken failed: destroying it" in failed.stderr
    assert "Review app lab-broken destroyed" in failed.stderr
    with session_scope(site.sessions) as session:
        assert session.scalars(select(App).where(App.name == "lab-broken")).first() is None
        reasons = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "reviewapp.destroy")
        ).all()
        assert [r["reason"] for r in reasons] == ["first deploy failed"]
    assert remote_heads(site, alice, url) == {}
