"""The states of a Build and of a Release, and which of them are ended.

Values are the strings stored in the database and shown by the API, so the columns stay
plain strings and old rows read back unchanged. Every transition lives in one service
(services/build.py, services/release.py); waiting clients (CLI, receiver) stop on any
state in `ENDED`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class BuildStatus(StrEnum):
    PENDING = "pending"  # recorded, waiting for a worker
    RUNNING = "running"  # a worker holds its build lock
    SUCCEEDED = "succeeded"  # an artifact exists and its deploy release is recorded
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"  # its worker died; the redelivered task builds it again

    ENDED: ClassVar[frozenset[BuildStatus]]


class ReleaseStatus(StrEnum):
    PENDING = "pending"  # recorded, handed to the applier
    APPLYING = "applying"  # a worker holds the app's apply lock and moves `live`
    SUCCEEDED = "succeeded"  # every `live` alias is on this release's versions
    # `live` sends a share of traffic to this release's versions while the canary window
    # runs (app deploy strategy `canary`); ends succeeded (all moved) or failed (all back)
    CANARY = "canary"
    FAILED = "failed"  # nothing of it is live; the aliases are where they were
    ABANDONED = "abandoned"  # overtaken by a newer release before it was applied

    ENDED: ClassVar[frozenset[ReleaseStatus]]
    # the newest release in one of these states is the app's current release
    CURRENT: ClassVar[frozenset[ReleaseStatus]]
    UNFINISHED: ClassVar[frozenset[ReleaseStatus]]


BuildStatus.ENDED = frozenset(
    {BuildStatus.SUCCEEDED, BuildStatus.FAILED, BuildStatus.CANCELLED, BuildStatus.ABANDONED}
)
ReleaseStatus.ENDED = frozenset(
    {ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.ABANDONED}
)
ReleaseStatus.CURRENT = frozenset(
    {
        ReleaseStatus.PENDING,
        ReleaseStatus.APPLYING,
        ReleaseStatus.CANARY,
        ReleaseStatus.SUCCEEDED,
    }
)
# a worker is (or should be) at work on it: the recovery sweep looks after these
ReleaseStatus.UNFINISHED = frozenset(
    {ReleaseStatus.PENDING, ReleaseStatus.APPLYING, ReleaseStatus.CANARY}
)
