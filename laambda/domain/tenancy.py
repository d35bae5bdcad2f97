"""What the operator lets a user's app ask AWS for: IAM roles and event source ARNs.

Both are allow-lists of ARNs or fnmatch patterns (`*` matches any run of characters, `/` and
`:` included; `?` one character), matched case-sensitively as IAM compares ARNs. An app's role
is handed to Lambda with iam:PassRole and its event sources read queues and streams, so a
user naming any role or ARN of the account would borrow the platform's rights.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

ROLES_SETTING = "LAAMBDA_ALLOWED_ROLES"
SOURCES_SETTING = "LAAMBDA_ALLOWED_EVENT_SOURCE_ARNS"


def matches(value: str, patterns: Sequence[str]) -> bool:
    """True when `value` equals, or fnmatch-matches, one of `patterns`."""
    return any(value == pattern or fnmatchcase(value, pattern) for pattern in patterns)


def role_problem(role: str, *, allowed: Sequence[str], default_role: str | None) -> str | None:
    """Why a user's app may not run as `role`, or None when it may.

    With no `allowed` patterns only the platform's default role is allowed.
    """
    permitted = list(allowed) or ([default_role] if default_role else [])
    if matches(role, permitted):
        return None
    return (
        f"role '{_shown(role)}' is not allowed on this platform: {ROLES_SETTING} permits "
        f"{_listed(permitted)}; leave --role out for the default role, or ask an admin "
        "(admins may give any role)"
    )


def event_source_problem(arn: str, *, allowed: Sequence[str]) -> str | None:
    """Why a user's app may not attach the queue or stream `arn`, or None when it may."""
    if matches(arn, allowed):
        return None
    return (
        f"event source '{_shown(arn)}' is not allowed on this platform: {SOURCES_SETTING} "
        f"permits {_listed(list(allowed))}; ask an admin to attach it or to allow it"
    )


def _listed(patterns: list[str]) -> str:
    return ", ".join(patterns) if patterns else "none"


def _shown(value: str) -> str:
    return value if len(value) <= 200 and value.isprintable() else f"{value[:200]!r}…"
