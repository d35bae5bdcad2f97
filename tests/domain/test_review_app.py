"""Review app names: `<pipeline>-<branch-slug>`, valid app names, room for every function name."""

from __future__ import annotations

import pytest

from laambda.domain.app_name import app_name_problem
from laambda.domain.review_app import (
    NoReviewAppName,
    branch_hash,
    procfile_entry_names,
    review_app_name,
    slug,
    ttl_seconds,
)


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("feature-x", "feature-x"),
        ("Feature/Add_Login", "feature-add-login"),
        ("fix--double", "fix-double"),
        ("-lead-and-trail-", "lead-and-trail"),
        ("dependabot/pip/requests-2.32.0", "dependabot-pip-requests-2-32-0"),
        ("ÄÖ", ""),
    ],
)
def test_slug(branch: str, expected: str) -> None:
    assert slug(branch) == expected


def test_short_names_are_pipeline_and_slug() -> None:
    assert review_app_name("shop", "feature-x") == "shop-feature-x"
    assert review_app_name("shop", "Feature/Login") == "shop-feature-login"


def test_long_branches_are_cut_and_hashed() -> None:
    branch = "feature/a-very-long-branch-name-that-goes-on"
    name = review_app_name("shop", branch)
    assert len(name) <= 30
    assert name.endswith(f"-{branch_hash(branch)}")
    assert name.startswith("shop-feature-a-very")
    assert app_name_problem(name) is None
    # two long branches that share their start get different names
    other = review_app_name("shop", branch + "-and-on")
    assert other != name


def test_room_is_left_for_the_longest_procfile_entry() -> None:
    entry = "x" * 50
    name = review_app_name("shop", "feature-login", longest_entry=len(entry))
    assert len(f"{name}-{entry}") <= 64
    assert app_name_problem(name) is None
    assert name.endswith(branch_hash("feature-login"))


def test_an_entry_too_long_for_any_name_is_refused_with_the_limit() -> None:
    with pytest.raises(NoReviewAppName, match="at most 55 characters"):
        review_app_name("shop", "feature-x", longest_entry=60)


def test_collisions_get_a_hash_then_another() -> None:
    taken = {"shop-feature-x"}
    first = review_app_name("shop", "feature-x", taken=taken.__contains__)
    assert first == f"shop-feature-x-{branch_hash('feature-x')}"
    taken.add(first)
    second = review_app_name("shop", "feature-x", taken=taken.__contains__)
    assert second not in taken
    assert app_name_problem(second) is None


def test_a_branch_without_letters_still_gets_a_valid_name() -> None:
    name = review_app_name("shop", "ÄÖ")
    assert app_name_problem(name) is None
    assert name.startswith("shop")


@pytest.mark.parametrize("branch", ["ブランチ", "ÄÖ", "---"])
def test_an_empty_slug_is_never_the_pipelines_own_name(branch: str) -> None:
    assert review_app_name("shop", branch) == f"shop-{branch_hash(branch)}"


def test_a_name_every_candidate_of_which_is_taken_is_refused() -> None:
    with pytest.raises(NoReviewAppName, match="rename the branch"):
        review_app_name("shop", "feature-x", taken=lambda _: True)


def test_procfile_entry_names_are_read_leniently() -> None:
    text = "\ufeff# comment\nweb: app.handler\n\n  worker : jobs.run\nnot a line\n"
    assert procfile_entry_names(text) == ["web", "worker"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3d", 259200), ("12h", 43200), ("90m", 5400), ("2w", 1209600), ("3600", 3600)],
)
def test_ttl(text: str, seconds: int) -> None:
    assert ttl_seconds(text) == seconds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("soon", "not a duration"),
        ("3y", "not a duration"),
        ("5s", "between 1m and 365d"),
        ("1000000000d", "between 1m and 365d, not 1000000000d"),
        ("9999999d", "between 1m and 365d"),
    ],
)
def test_bad_ttl(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        ttl_seconds(text)
