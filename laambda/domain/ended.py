"""Which states of a build and of a release are ended: nothing will change them any more, so
a waiting client (the CLI after `config:set`, the git receiver during a push) stops there.

The one place those clients read it from. The values are the strings the database stores and
the API shows; when the statuses become enums these sets become `BuildStatus.ENDED` and
`ReleaseStatus.ENDED` (a StrEnum member equals and hashes as its string, so the callers'
`status in …` reads the same).
"""

from __future__ import annotations

BUILD_ENDED = frozenset({"succeeded", "failed", "cancelled", "abandoned"})
RELEASE_ENDED = frozenset({"succeeded", "failed", "abandoned"})
