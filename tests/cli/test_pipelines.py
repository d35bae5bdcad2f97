"""pipelines:* as users type them, against a running API."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from laambda.crypto import Cipher
from laambda.db.models import App, Release, User
from laambda.db.session import session_scope
from laambda.services.applier import InlineApplier
from laambda.services.release import release_service
from laambda.services.teardown import repository_path
from tests.support import factories
from tests.support.cli import Cli, end_release_soon
from tests.support.receiver import commit, git


def _deployed(cli: Cli, name: str, commit: str) -> None:
    """A build of `name` released as the worker would (recorded by the inline applier)."""
    with session_scope(cli.sessions) as session:
        app = session.scalars(select(App).where(App.name == name)).one()
        user = session.scalars(select(User)).one()
        factories.bind(session)
        build = factories.build(app_id=app.id, commit=commit)
        release_service.deploy(
            session,
            app,
            build,
            user=user,
            cipher=Cipher(cli.settings.secret_key),
            applier=InlineApplier(cli.sessions),
        )


def _shop(cli: Cli) -> None:
    made = cli("pipelines:create", "shop")
    assert made.returncode == 0, made.stderr
    assert "git remote add laambda ssh://git@127.0.0.1:2222/pipelines/shop" in made.stdout
    created = cli("apps:create", "shop-staging", "-p", "shop", "--branch", "develop")
    assert created.returncode == 0, created.stderr
    assert "In pipeline shop as staging, following develop" in created.stdout
    assert cli("apps:create", "shop-prod").returncode == 0
    added = cli("pipelines:add", "shop-prod", "-p", "shop")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "Added shop-prod to shop as production, following main"


def test_pipelines_info_promote_and_diff(cli: Cli) -> None:
    _shop(cli)
    _deployed(cli, "shop-staging", "3f9c1ab" + "0" * 33)
    info = cli("pipelines:info", "shop")
    assert info.returncode == 0, info.stderr
    lines = info.stdout.splitlines()
    assert lines[0] == "=== shop"
    staging = next(line for line in lines if "shop-staging" in line)
    for part in ("staging", "develop", "v1 Deploy 3f9c1ab", "3f9c1ab"):
        assert part in staging
    production = next(line for line in lines if "shop-prod" in line)
    assert "production" in production
    assert "main" in production
    assert cli("pipelines").stdout.strip() == "shop  shop-staging (staging), shop-prod (production)"

    diff = cli("pipelines:diff", "-a", "shop-staging")
    assert diff.returncode == 0, diff.stderr
    assert "=== shop-staging is ahead of shop-prod by 1 commit" in diff.stdout

    promoted = cli("pipelines:promote", "-a", "shop-staging")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.splitlines() == [
        "Promoting v1 of shop-staging",
        "  shop-prod… done, v1",
    ]
    rows = json.loads(cli("pipelines", "shop", "--json").stdout)["apps"]
    assert [(r["name"], r["description"]) for r in rows] == [
        ("shop-staging", "Deploy 3f9c1ab"),
        ("shop-prod", "Promote v1 of shop-staging"),
    ]
    assert rows[0]["artifact_sha256"] == rows[1]["artifact_sha256"]
    assert cli("pipelines:diff", "-p", "shop").stdout.strip() == (
        "shop-prod is up to date with shop-staging"
    )
    again = cli("pipelines:promote", "-a", "shop-staging")
    assert again.stdout.splitlines()[1] == (
        "  shop-prod: nothing changed: v1 of shop-prod runs it already"
    )

    moved = cli("apps:update", "shop-staging", "--branch", "next")
    assert moved.stdout.strip() == "shop-staging: pipeline shop, stage staging, following next"
    taken = cli("apps:update", "shop-staging", "--branch", "main")
    assert taken.returncode == 1
    assert "already followed by 'shop-prod'" in taken.stderr
    assert (
        cli("pipelines:remove", "shop-staging").stdout.strip() == "Removed shop-staging from shop"
    )
    gone = cli("pipelines:destroy", "shop", "--confirm", "shop")
    assert gone.stdout.splitlines() == ["  shop-prod is on its own now", "Destroyed pipeline shop"]


def test_diff_says_behind_and_diverged_from_the_commits_ancestry(cli: Cli) -> None:
    _shop(cli)
    # production's own repository, as its pushes left it: s1, then a hotfix on top
    work = cli.settings.data_dir / "work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    s1 = commit(work, {"a.txt": "1\n"}, "s1")
    hotfix = commit(work, {"a.txt": "fix\n"}, "hotfix")
    prod = repository_path(cli.settings.data_dir, "shop-prod")
    git(work, "init", "-q", "--bare", str(prod))
    git(work, "push", "-q", str(prod), "main")
    _deployed(cli, "shop-staging", s1)
    _deployed(cli, "shop-prod", hotfix)

    behind = cli("pipelines:diff", "-a", "shop-staging")
    assert behind.returncode == 0, behind.stderr
    assert behind.stdout.splitlines() == [
        "=== shop-staging is behind shop-prod by 1 commit",
        f"{hotfix[:7]}  hotfix  t",
        "Promoting shop-staging to shop-prod would undo these; merge them first",
    ]
    # and promoting, which would undo the hotfix, is refused as a stale push is
    refused = cli("pipelines:promote", "-a", "shop-staging")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "laambda: cannot promote to 'shop-prod': it runs 1 commit that shop-staging does not "
        f"contain: {hotfix[:7]} (hotfix); promoting would undo them. Merge them into "
        "shop-staging (fetch, merge and push its branch develop) and promote again, or "
        "promote anyway with `laambda pipelines:promote -a shop-staging --force`; nothing "
        "changed"
    )

    git(work, "checkout", "-q", "-b", "develop", s1)
    s2 = commit(work, {"b.txt": "2\n"}, "s2")
    git(work, "push", "-q", str(prod), "develop")
    _deployed(cli, "shop-staging", s2)
    diverged = cli("pipelines:diff", "-a", "shop-staging").stdout.splitlines()
    assert diverged == [
        "=== shop-staging and shop-prod have diverged",
        "=== shop-staging is ahead of shop-prod by 1 commit",
        f"{s2[:7]}  s2  t",
        "=== shop-staging is behind shop-prod by 1 commit",
        f"{hotfix[:7]}  hotfix  t",
        "Promoting shop-staging to shop-prod would undo these; merge them first",
    ]
    assert "it runs 1 commit that" in cli("pipelines:promote", "-a", "shop-staging").stderr
    # --force promotes anyway, saying what it undid
    forced = cli("pipelines:promote", "-a", "shop-staging", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines() == [
        "Promoting v2 of shop-staging",
        "  shop-prod… done, v2",
        f"  shop-prod: Promote v2 of shop-staging, undoing {hotfix[:7]} (hotfix)",
    ]
    rows = json.loads(cli("pipelines", "shop", "--json").stdout)["apps"]
    assert rows[1]["description"] == f"Promote v2 of shop-staging, undoing {hotfix[:7]} (hotfix)"


def test_refusals_are_one_line(cli: Cli) -> None:
    _shop(cli)
    empty = cli("pipelines:promote", "-a", "shop-staging")
    assert empty.returncode == 1
    assert empty.stderr.strip() == (
        "laambda: 'shop-staging' has no live release to promote: push to it first"
    )
    bad = cli("apps:update", "shop-prod", "--branch", "a..b")
    assert bad.returncode == 1
    assert bad.stderr.startswith("laambda: 'a..b' is not a valid branch name: it holds '..'")


def test_promote_exits_non_zero_when_the_release_fails(held_cli: Cli) -> None:
    _shop(held_cli)
    _deployed(held_cli, "shop-staging", "a" * 40)
    with session_scope(held_cli.sessions) as session:
        session.execute(update(Release).values(status="succeeded"))  # no worker applies it
    ender = end_release_soon(held_cli, 1, "failed", "AWS said no")
    promoted = held_cli("pipelines:promote", "-a", "shop-staging")
    ender.join()
    assert promoted.returncode == 1
    assert "  shop-prod… laambda: v1 failed: AWS said no" not in promoted.stdout
    assert "  shop-prod… v1 failed: AWS said no" in promoted.stdout
    assert promoted.stderr.strip() == "laambda: promotion to shop-prod failed"
