"""`laambda reviewapps*` and `config --review` as users run them."""

from __future__ import annotations

import subprocess

from sqlalchemy import select

from laambda.db.base import utcnow
from laambda.db.models import App, User
from laambda.db.session import session_scope
from tests.support import factories
from tests.support.cli import Cli
from tests.support.pipelines import add_pipeline


def test_review_apps_and_their_config(cli: Cli) -> None:
    assert cli("apps:create", "shop-staging").returncode == 0
    with session_scope(cli.sessions) as session:
        alice = session.scalars(select(User).where(User.email == "alice@example.com")).one()
        pipeline = add_pipeline(
            session, "shop", alice, follow={"shop-staging": ("staging", "develop")}
        )
        session.add(
            App(
                name="shop-feature-x",
                region="us-east-1",
                role_arn="arn:aws:iam::123456789012:role/lambda-basic",
                owner_id=alice.id,
                pipeline_id=pipeline.id,
                stage="review",
                branch="feature/x",
                review_app=True,
                last_deployed_at=utcnow(),
            )
        )

    assert "Review apps of shop: off" in cli("reviewapps", "-p", "shop").stdout
    enabled = cli("reviewapps:enable", "-p", "shop", "--ttl", "3d")
    assert enabled.returncode == 0, enabled.stderr
    assert "Review apps of shop: on, destroyed after 3d without a push" in enabled.stdout
    listed = cli("reviewapps", "-p", "shop")
    assert "shop-feature-x  branch feature/x, deployed just now, expires " in listed.stdout
    bad = cli("reviewapps:enable", "-p", "shop", "--ttl", "soon")
    assert bad.returncode == 1
    assert "'soon' is not a duration" in bad.stderr
    assert "which pipeline? pass -p PIPELINE" in cli("reviewapps").stderr
    # inside a clone of the pipeline's repository, -p comes from its `laambda` remote
    repo = cli.home / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    url = "ssh://git@127.0.0.1:2222/pipelines/shop"
    subprocess.run(["git", "remote", "add", "laambda", url], cwd=repo, check=True)
    assert "shop-feature-x  branch feature/x" in cli("reviewapps", cwd=repo).stdout
    # so does pipelines:info; a command about one app asks which
    assert cli("pipelines:info", cwd=repo).stdout.startswith("=== shop")
    which = cli("config", cwd=repo)
    assert which.returncode == 1
    assert which.stderr.strip() == "laambda: this repository's remote is pipeline shop: pass -a APP"
    # a failed deploy is said to be one, not "deployed"
    with session_scope(cli.sessions) as session:
        review = session.scalars(select(App).where(App.name == "shop-feature-x")).one()
        factories.bind(session)
        factories.build(app_id=review.id, status="failed")
    failed = cli("reviewapps", "-p", "shop").stdout
    assert "shop-feature-x  branch feature/x, last deploy failed just now" in failed

    setting = cli("config:set", "--review", "-p", "shop", "BUCKET=previews", "DEBUG=1")
    assert setting.returncode == 0, setting.stderr
    assert "Review config of shop: changed BUCKET, DEBUG" in setting.stdout
    assert cli("config:unset", "--review", "-p", "shop", "DEBUG").returncode == 0
    never = cli("config:unset", "--review", "-p", "shop", "DEBUG")
    assert never.returncode == 0, never.stderr
    assert never.stdout.strip() == "Review config of shop: nothing changed; DEBUG is not set"
    shown = cli("config", "--review", "-p", "shop")
    assert shown.stdout.split() == ["BUCKET:", "previews"]
    # the app's own config is untouched
    assert cli("config", "-a", "shop-staging").stdout == ""

    destroyed = cli("reviewapps:destroy", "feature/x", "-p", "shop")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "Destroyed shop-feature-x (branch feature/x)" in destroyed.stdout
    assert "No review apps" in cli("reviewapps", "-p", "shop").stdout
    missing = cli("reviewapps:destroy", "feature/x", "-p", "shop")
    assert missing.returncode == 1
    assert "has no review app of 'feature/x'" in missing.stderr
    assert "Review apps of shop: off" in cli("reviewapps:disable", "-p", "shop").stdout
