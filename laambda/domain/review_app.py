"""Names of review apps: `<pipeline>-<branch-slug>`, within laambda's app name rules and short
enough that every `<app>-<entry>` function name of the pushed Procfile fits Lambda's 64
characters (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).

Pure: the caller says which names are taken and how long the longest Procfile entry is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from laambda.domain.app_name import app_name_problem
from laambda.domain.function import MAX_FUNCTION_NAME

MAX_APP_NAME = 30  # laambda's app name rule (domain/app_name.py)
HASH_LENGTH = 6
# the shortest name that still says something: a letter, a dash and the branch's hash
MIN_NAME = 1 + 1 + HASH_LENGTH
MAX_TRIES = 50  # hashed names tried before giving up
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class NoReviewAppName(ValueError):
    """No review app name fits: the Procfile's entries leave too little of Lambda's 64."""


def slug(branch: str) -> str:
    """`Feature/Add_Login` -> `feature-add-login`: lowercase letters and digits, one dash
    between runs, none at either end; empty when the branch has no letter or digit."""
    return _NOT_SLUG.sub("-", branch.lower()).strip("-")


def branch_hash(branch: str, salt: int = 0) -> str:
    """Six hex digits that tell branches apart once their slugs are cut or collide."""
    text = branch if salt == 0 else f"{branch}\n{salt}"
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def name_limit(longest_entry: int) -> int:
    """How long the app's name may be so that `<app>-<entry>` stays within 64 characters."""
    return min(MAX_APP_NAME, MAX_FUNCTION_NAME - 1 - longest_entry)


def review_app_name(
    pipeline: str,
    branch: str,
    *,
    longest_entry: int = 0,
    taken: Callable[[str], bool] = lambda _: False,
) -> str:
    """The name of the review app of `branch` in `pipeline`: `<pipeline>-<slug>` when that is
    a valid app name within the limit and not taken (and the slug is not empty), else cut to
    make room for `-<hash>` of the branch, then `<pipeline>-<hash>` with a different hash
    for each further collision. NoReviewAppName when the limit leaves fewer than MIN_NAME
    characters or when MAX_TRIES hashed names are all taken."""
    limit = name_limit(longest_entry)
    if limit < MIN_NAME:
        raise NoReviewAppName(
            f"a Procfile entry name of {longest_entry} characters leaves {max(limit, 0)} for "
            f"the review app's name (Lambda allows {MAX_FUNCTION_NAME} for "
            f"`<app>-<entry>`); shorten the entry names to at most "
            f"{MAX_FUNCTION_NAME - 1 - MIN_NAME} characters"
        )
    branch_slug = slug(branch)
    plain = "-".join(part for part in (pipeline, branch_slug) if part)
    # with no slug (a branch of no letter or digit) the name would be the pipeline's own
    if branch_slug and len(plain) <= limit and app_name_problem(plain) is None and not taken(plain):
        return plain
    salt = 0
    while True:
        suffix = branch_hash(branch, salt)
        # after the first try the slug is dropped: a name taken because another app's name
        # starts it (see services/review_app.py) would stay taken with any other hash
        start = plain if salt == 0 else pipeline
        prefix = start[: limit - HASH_LENGTH - 1].rstrip("-")
        candidate = f"{prefix}-{suffix}"  # the pipeline's name starts it: a letter
        if app_name_problem(candidate) is None and not taken(candidate):
            return candidate
        salt += 1
        if salt >= MAX_TRIES:
            raise NoReviewAppName(
                f"the {MAX_TRIES} names tried for it are all taken, or would share function "
                f"names with an app's (such as {candidate}); rename the branch"
            )


def procfile_entry_names(text: str) -> list[str]:
    """The entry names of a Procfile as written, read leniently (the build checks the rest):
    what is left of the first colon of each line that is not blank or a comment."""
    names = []
    for raw in text.removeprefix("\ufeff").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and ":" in line:
            names.append(line.partition(":")[0].strip())
    return names


_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_TTL_SECONDS = 365 * 86400


def ttl_seconds(text: str) -> int:
    """`3d`, `12h`, `90m`, `2w` or plain seconds -> seconds, from one minute to a year.
    ValueError says what was wrong and how to write it."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is not None and len(found.group(1)) > 9:
        raise ValueError(f"a review app TTL is between 1m and 365d, not {text.strip()[:40]}")
    if found is None:
        shown = text[:40]
        raise ValueError(
            f"'{shown}' is not a duration: write a number and a unit, such as 3d, 12h or 90m"
        )
    seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if not 60 <= seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"a review app TTL is between 1m and 365d, not {text.strip()}")
    return seconds
