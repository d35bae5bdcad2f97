"""A pipeline's repository shows what runs: each followed branch on its app's live commit,
the branches no app follows removed (laambda/receiver/branch.py `align_pipeline`), with real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from laambda.receiver.branch import align_pipeline
from laambda.receiver.repos import pipeline_repository
from tests.support.receiver import commit, git


def heads(repo: Path) -> dict[str, str]:
    listed = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines())


def test_followed_branches_move_to_the_live_commit_and_others_go(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    first = commit(work, {"a.txt": "1\n"}, "first")
    second = commit(work, {"a.txt": "2\n"}, "second")
    repo = pipeline_repository(tmp_path / "data", "shop")
    assert repo == tmp_path / "data" / "repos" / "pipelines" / "shop.git"
    assert (repo / "hooks" / "pre-receive").exists()
    # fetched into it: a push would run laambda's hook, which wants a receiver
    git(repo, "fetch", "-q", str(work), "main:main", "main:develop", "main:expired")
    assert set(heads(repo).values()) == {second}

    changed = align_pipeline(
        repo,
        {
            "refs/heads/develop": first,  # rolled back: the branch shows what runs
            "refs/heads/main": second,  # already there
            "refs/heads/fresh": None,  # a review app not released yet: no branch made
            "refs/heads/ghost": "f" * 40,  # a commit this repository never received
        },
    )
    assert changed == ["refs/heads/develop", "refs/heads/expired"]
    assert heads(repo) == {"refs/heads/develop": first, "refs/heads/main": second}
    assert align_pipeline(repo, {"refs/heads/develop": first, "refs/heads/main": second}) == []
