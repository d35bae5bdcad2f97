"""A pipeline's branch shows its app's live release whatever made it live (a push to the app's
own remote, a promotion, `laambda deploy`), so a push based on what the app no longer runs
is refused instead of silently undoing a hotfix; and `pipelines:diff` says which way apart
the two stages are. Real git over ssh, a real worker."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from laambda.crypto import Cipher
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.errors import PromotionRefused
from laambda.gitrepo import holds
from laambda.objectstore import ObjectStore
from laambda.services import upload_commit
from laambda.services.build import build_service
from laambda.services.promotion import Diff, promotion_service
from laambda.worker.enqueue import CeleryQueue
from tests.support.archives import tarball
from tests.support.pipelines import make_pipeline
from tests.support.platform import python_app
from tests.support.receiver import Person, Site, commit, git, serving

# moto's server runs in this process and may leave sockets of its calls open
pytestmark = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)


def fetched(site: Site, person: Person, repo: Path, remote: str, branch: str) -> str:
    """`git fetch REMOTE`, then the commit of REMOTE/BRANCH as the clone now has it."""
    env = os.environ | {"GIT_SSH_COMMAND": person.ssh(site.port)}
    subprocess.run(["git", "fetch", "-q", remote], cwd=repo, env=env, check=True, timeout=120)
    return git(repo, "rev-parse", f"{remote}/{branch}")


def live(site: Site, app: str, version: int) -> str:
    """The commit of the app's release `version`, waited for until it is live."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(site.sessions) as session:
            row = session.execute(
                select(Release.status, Build.commit)
                .join(Build, Build.id == Release.build_id)
                .join(App, App.id == Release.app_id)
                .where(App.name == app, Release.version == version)
            ).one_or_none()
        if row is not None and row[0] in ("failed", "abandoned"):
            raise AssertionError(f"v{version} of {app} {row[0]}")
        if row is not None and row[0] == "succeeded":
            return str(row[1])
        time.sleep(0.3)
    raise AssertionError(f"v{version} of {app} was not live within 120 s")


def promote(site: Site, person: Person, app: str, *, force: bool = False) -> list[str]:
    """`laambda pipelines:promote -a APP [--force]`, as the API does it; each downstream
    app's outcome (its release's description, or why nothing changed)."""
    with session_scope(site.sessions) as session:
        _, outcomes = promotion_service.promote(
            session,
            session.merge(person.user),
            app=app,
            to=None,
            cipher=Cipher(site.settings.secret_key),
            applier=CeleryQueue(site.settings),
            data_dir=site.settings.data_dir,
            force=force,
        )
        return [outcome.detail for outcome in outcomes]


def upload(
    site: Site, person: Person, app: str, files: dict[str, str], sha: str, *, verify: bool = True
) -> str:
    """What `POST /v1/apps/APP/builds?commit=SHA` (`laambda deploy`) does: the tarball
    labelled SHA, the label verified against the server's repositories, built and released,
    no git. The description of the release it makes, once live. `verify=False`: the label
    recorded as the commit, as uploads were before it was verified."""
    key = f"sources/{app}/upload-{uuid.uuid4()}.tar.gz"
    store = ObjectStore(aws.s3_client(site.settings), site.settings.artifact_bucket)
    source = site.tmp / key.rsplit("/", 1)[1]
    source.write_bytes(tarball(files))
    store.put_file(key, source)
    with session_scope(site.sessions) as session:
        row = session.scalars(select(App).where(App.name == app)).one()
        said = upload_commit.labelled(session, site.settings.data_dir, row, sha, source)
        said = said if verify else upload_commit.Labelled(sha, None)
        build = build_service.create(
            session,
            row,
            user=session.merge(person.user),
            commit=said.commit,
            source_key=key,
            queue=CeleryQueue(site.settings),
            origin="upload",
            label=said.label,
        )
        build_id = build.id
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(site.sessions) as session:
            released = session.scalars(
                select(Release).where(Release.build_id == build_id, Release.status == "succeeded")
            ).one_or_none()
            if released is not None:
                return released.description
        time.sleep(0.3)
    with session_scope(site.sessions) as session:
        ended = session.get_one(Build, build_id)
        raise AssertionError(f"the upload {sha[:7]} to {app} was not live: {ended.log}")


def diff(site: Site, person: Person) -> Diff:
    """`laambda pipelines:diff -a store-staging`."""
    with session_scope(site.sessions) as session:
        return promotion_service.diff(
            session,
            session.merge(person.user),
            "store",
            upstream="store-staging",
            downstream=None,
            data_dir=site.settings.data_dir,
        )


def promoted(site: Site, name: str) -> tuple[Person, Path, str]:
    """The tester's start: pipeline `name` (NAME-staging on develop, NAME-prod on main), a
    commit s1 pushed to the pipeline's develop and promoted to production; the owner, the
    clone (on develop, remote `laambda` the pipeline) and s1."""
    alice = site.person("alice@example.com")
    site.staged_pipeline(name, alice)
    repo = site.repo(name, python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.pipeline_url(name))
    git(repo, "checkout", "-q", "-b", "develop")
    s1 = commit(repo, {"web_mod.py": "def handler(e, c):\n    return 's1'\n"}, "s1")
    staged = site.push(repo, alice, "laambda", "develop")
    assert staged.returncode == 0, staged.stderr
    promote(site, alice, f"{name}-staging")
    assert live(site, f"{name}-prod", 1) == s1
    return alice, repo, s1


def test_a_hotfix_pushed_to_the_app_is_not_undone_through_the_pipeline(site: Site) -> None:
    alice, repo, s1 = promoted(site, "store")
    assert fetched(site, alice, repo, "laambda", "main") == s1

    # a hotfix on top of s1, pushed to production's own remote
    hotfix = commit(repo, {"web_mod.py": "def handler(e, c):\n    return 'fix'\n"}, "hotfix")
    fixed = site.push(repo, alice, site.url("store-prod"), "develop:main")
    assert fixed.returncode == 0, fixed.stderr
    assert live(site, "store-prod", 2) == hotfix

    # the pipeline's main shows what production runs, and staging is behind it
    assert fetched(site, alice, repo, "laambda", "main") == hotfix
    behind = diff(site, alice)
    assert (behind.commits, [c.sha for c in behind.behind]) == ([], [hotfix])
    assert not behind.up_to_date
    # so promoting staging, which would undo the hotfix, is refused and changes nothing
    with pytest.raises(PromotionRefused) as refused:
        promote(site, alice, "store-staging")
    assert refused.value.status_code == 409
    assert (
        f"cannot promote to 'store-prod': it runs 1 commit that store-staging does not "
        f"contain: {hotfix[:7]} (hotfix); promoting would undo them. Merge them into "
        "store-staging (fetch, merge and push its branch develop)"
    ) in refused.value.message
    assert "`laambda pipelines:promote -a store-staging --force`" in refused.value.message
    assert fetched(site, alice, repo, "laambda", "main") == hotfix

    # a commit on top of s1 (the old main) is not a fast-forward: git refuses it, nothing built
    git(repo, "checkout", "-q", "-b", "stale", s1)
    commit(repo, {"other.py": "x = 1\n"}, "on the old main")
    stale = site.push(repo, alice, "laambda", "stale:main")
    assert stale.returncode != 0
    assert "[rejected]" in stale.stderr
    assert "stale -> main" in stale.stderr
    assert "Building" not in stale.stderr
    assert live(site, "store-prod", 2) == hotfix
    # merged with the hotfix, it goes live
    git(repo, "merge", "-q", "--no-edit", "laambda/main")
    merged = site.push(repo, alice, "laambda", "stale:main")
    assert merged.returncode == 0, merged.stderr
    merge = git(repo, "rev-parse", "stale")
    assert live(site, "store-prod", 3) == merge
    # staging now runs an older commit than production, and has nothing production lacks
    assert [c.sha for c in diff(site, alice).behind][0] == merge

    # production's own remote shows a commit it got by promotion
    git(repo, "checkout", "-q", "develop")
    s2 = commit(repo, {"web_mod.py": "def handler(e, c):\n    return 's2'\n"}, "s2")
    assert site.push(repo, alice, "laambda", "develop").returncode == 0
    ahead_and_behind = diff(site, alice)
    assert [c.sha for c in ahead_and_behind.commits] == [s2]  # diverged: s2 vs the merge
    assert ahead_and_behind.behind
    git(repo, "remote", "add", "prod", site.url("store-prod"))
    with pytest.raises(PromotionRefused, match="it runs 2 commits that store-staging does not"):
        promote(site, alice, "store-staging")
    # --force promotes anyway, and says what it undid
    (forced,) = promote(site, alice, "store-staging", force=True)
    assert forced.startswith(f"Promote v2 of store-staging, undoing {merge[:7]} (Merge ")
    assert live(site, "store-prod", 4) == s2
    assert fetched(site, alice, repo, "prod", "main") == s2


def test_an_upload_labelled_with_a_commit_the_server_cannot_verify_locks_out_no_push(
    site: Site,
) -> None:
    alice = site.person("alice@example.com")
    site.app("lab-prod", alice)
    make_pipeline(site.sessions, "lab", alice.user, follow={"lab-prod": ("production", "main")})
    files = python_app(["web"])
    repo = site.repo("lab", files)
    git(repo, "remote", "add", "laambda", site.pipeline_url("lab"))
    first = git(repo, "rev-parse", "HEAD")
    assert site.push(repo, alice, "laambda", "main").returncode == 0
    assert live(site, "lab-prod", 1) == first

    # other code labelled with a real commit of the server's, or one no repository holds
    evil = files | {"web_mod.py": "def handler(e, c):\n    return 'EVIL CODE'\n"}
    assert upload(site, alice, "lab-prod", evil, first) == (
        f"Deploy {first[:7]} (upload, unverified)"
    )
    # the files of the pushed commit, labelled with it: verified, described as a push is
    assert upload(site, alice, "lab-prod", files, first) == f"Deploy {first[:7]}"
    fake = "1" * 40
    assert upload(site, alice, "lab-prod", evil, fake) == "Deploy 1111111 (upload, unverified)"
    # CI deploys a commit it never pushed: the server cannot tell it is that commit's code
    files["web_mod.py"] = "def handler(e, c):\n    return 'ci'\n"
    ci = commit(repo, files, "deployed by CI")
    assert upload(site, alice, "lab-prod", files, ci) == f"Deploy {ci[:7]} (upload, unverified)"

    # none of these labels moves the branch or locks out a push, forced or not
    assert fetched(site, alice, repo, "laambda", "main") == first
    git(repo, "checkout", "-q", "-b", "other", first)
    commit(repo, {"other.py": "x = 1\n"}, "without the CI commit")
    own = site.push(repo, alice, site.url("lab-prod"), "other:main")
    assert own.returncode == 0, own.stderr
    assert live(site, "lab-prod", 6) == git(repo, "rev-parse", "other")
    assert upload(site, alice, "lab-prod", evil, fake) == "Deploy 1111111 (upload, unverified)"
    git(repo, "commit", "-q", "--amend", "-m", "rewritten")
    forced = site.push(repo, alice, "laambda", "+other:main")
    assert forced.returncode == 0, forced.stderr
    assert "Push rejected" not in forced.stderr
    assert live(site, "lab-prod", 8) == git(repo, "rev-parse", "other")
    # a build recorded before labels were verified: its commit is in no server repository
    legacy = "2" * 40
    assert upload(site, alice, "lab-prod", evil, legacy, verify=False) == "Deploy 2222222"
    commit(repo, {"other.py": "x = 2\n"}, "after the legacy upload")
    after = site.push(repo, alice, "laambda", "other:main")
    assert after.returncode == 0, after.stderr
    assert live(site, "lab-prod", 10) == git(repo, "rev-parse", "other")


def test_a_hotfix_pushed_through_another_receiver_shows_on_the_pipeline(site: Site) -> None:
    alice, repo, _ = promoted(site, "far")
    # another receiver host (its own disk, the same database and store) takes the hotfix
    other = site.settings.model_copy(update={"data_dir": site.tmp / "other-receiver"})
    with serving(other, site.sessions, site.tmp / "other") as second_host:
        hotfix = commit(repo, {"web_mod.py": "def handler(e, c):\n    return 'fix'\n"}, "fix")
        fixed = second_host.push(repo, alice, second_host.url("far-prod"), "develop:main")
        assert fixed.returncode == 0, fixed.stderr
    assert live(site, "far-prod", 2) == hotfix
    # this receiver never held far-prod's repository: the commit comes from its bundle
    here = site.settings.data_dir / "repos" / "far-prod.git"
    assert not (here / "HEAD").exists() or not holds(here, hotfix)
    assert fetched(site, alice, repo, "laambda", "main") == hotfix
