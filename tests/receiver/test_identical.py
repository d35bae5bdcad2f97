"""A push whose tree is the live release's (issue 17): accepted at once, no build, no release;
and the push runs in the receiver, its git hook only a thin client of it."""

from __future__ import annotations

import os
import subprocess

from sqlalchemy import func, select

from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from tests.support.platform import python_app
from tests.support.receiver import Site, commit, git, live_release, ls_remote


def _counts(site: Site, app: str) -> tuple[int, int]:
    """(builds, releases) of the app."""
    with session_scope(site.sessions) as session:
        app_id = session.scalars(select(App.id).where(App.name == app)).one()
        builds = session.scalar(select(func.count()).where(Build.app_id == app_id))
        releases = session.scalar(select(func.count()).where(Release.app_id == app_id))
        return int(builds or 0), int(releases or 0)


class TestIdenticalTree:
    def test_an_empty_commit_makes_no_build_and_no_release_and_says_so(self, site: Site) -> None:
        alice = site.person("alice@example.com")
        site.app("same", alice)
        repo = site.repo("same", python_app(["web"]))
        git(repo, "remote", "add", "laambda", site.url("same"))
        assert site.push(repo, alice, "laambda").returncode == 0
        assert _counts(site, "same") == (1, 1)

        git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
        empty = git(repo, "rev-parse", "HEAD")
        pushed = site.push(repo, alice, "laambda")
        assert pushed.returncode == 0, pushed.stderr
        assert "no build, no release (nothing changed; v1 is live)" in pushed.stderr
        assert "Building" not in pushed.stderr
        assert _counts(site, "same") == (2, 1)  # recorded, as a build that changed nothing
        # the branch shows the pushed commit, and keeps showing it (it is the live code)
        assert ls_remote(site, alice, "same") == empty
        assert live_release(site.sessions, "same")[0] == 1

        # a real change still builds and releases
        commit(repo, python_app(["web"], marker="two"), "two")
        changed = site.push(repo, alice, "laambda")
        assert changed.returncode == 0, changed.stderr
        assert "Released v2" in changed.stderr

    def test_a_commit_restoring_an_older_tree_builds(self, site: Site) -> None:
        """Only the live release's tree is 'nothing changed': v1's tree pushed on top of v2
        deploys it again."""
        alice = site.person("alice@example.com")
        site.app("back", alice)
        repo = site.repo("back", python_app(["web"]))
        git(repo, "remote", "add", "laambda", site.url("back"))
        assert site.push(repo, alice, "laambda").returncode == 0
        commit(repo, python_app(["web"], marker="two"), "two")
        assert site.push(repo, alice, "laambda").returncode == 0
        commit(repo, python_app(["web"]), "v1 again")
        again = site.push(repo, alice, "laambda")
        assert again.returncode == 0, again.stderr
        assert "Released v3" in again.stderr


class TestThinHook:
    def test_the_hook_refuses_a_push_that_did_not_come_through_the_receiver(
        self, site: Site
    ) -> None:
        """The hook only relays to the receiver that started git: run by hand (or by a git
        the receiver did not start) it refuses."""
        alice = site.person("alice@example.com")
        site.app("direct", alice)
        repo = site.repo("direct", python_app(["web"]))
        git(repo, "remote", "add", "laambda", site.url("direct"))
        assert site.push(repo, alice, "laambda").returncode == 0
        bare = site.settings.data_dir / "repos" / "direct.git"
        hook = bare / "hooks" / "pre-receive"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAAMBDA_PUSH_")}
        line = "0" * 40 + " " + "1" * 40 + " refs/heads/main\n"
        ran = subprocess.run(
            [str(hook)], cwd=bare, env=env, input=line, capture_output=True, text=True
        )
        assert ran.returncode == 1
        assert "push through laambda's receiver" in ran.stdout
