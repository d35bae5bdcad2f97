"""Branch names: laambda refuses what git refuses, and says which rule was broken."""

from __future__ import annotations

import subprocess

import pytest

from laambda.domain.branch_name import branch_problem

NAMES = [
    "main",
    "develop",
    "feature/x-1",
    "release/2024.1",
    "é-unicode",
    "a..b",
    "-x",
    "a/.b",
    ".hidden",
    "x.lock",
    "x.lock/y",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a@{1}",
    "a//b",
    "/a",
    "a/",
    "a.",
    "tab\there",
    "HEAD",
]


@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_git(name: str) -> None:
    git = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, check=False
    )
    assert (branch_problem(name) is None) == (git.returncode == 0), name


def test_the_message_names_the_rule() -> None:
    assert branch_problem("feature..x") == (
        "'feature..x' is not a valid branch name: it holds '..' (git's rules for branch "
        "names: no spaces, control characters or any of ~ ^ : ? * [ \\, no '..', '@{' or "
        "'//', not starting with '-' or '/', no part starting with '.' or ending with "
        "'.lock', not ending with '/' or '.')"
    )
    assert "over 255" in (branch_problem("b" * 256) or "")
    assert branch_problem("") is not None


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("refs/heads/x", "it is a full ref name, not a branch name: name the branch alone, 'x'"),
        ("refs/tags/v1", "it is a full ref name, not a branch name"),
    ],
)
def test_full_ref_names_are_refused(name: str, says: str) -> None:
    """git takes `refs/heads/x` as a branch of that long name; laambda asks for `x`."""
    problem = branch_problem(name)
    assert problem is not None
    assert says in problem


def test_over_255_characters_is_refused() -> None:
    problem = branch_problem("b" * 256)
    assert problem is not None
    assert "256 characters long, over 255" in problem
