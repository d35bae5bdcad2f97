"""How a release reaches `live`: all at once (the default, Heroku's way), or as a canary.

A canary sends `percent` % of `live`'s traffic to the new versions for a window (Lambda's
weighted alias routing, AdditionalVersionWeights), watches their Errors and Throttles, then
moves every alias fully, or moves every alias back when there were more than `max_errors`
(SAM/CodeDeploy's Canary10Percent5Minutes, with the errors metric as its alarm). Rollbacks
always go all at once, as on Heroku and as CodeDeploy's own rollbacks do.

Pure: validation, and the words the pusher and `laambda releases` show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from laambda.errors import InvalidInput

MIN_PERCENT, MAX_PERCENT = 1, 99
MIN_SECONDS, MAX_SECONDS = 1, 3600  # the window: up to an hour
MAX_MINUTES = MAX_SECONDS // 60
MAX_ERRORS = 1_000_000
# a push waiting behind a canary gives up after LAAMBDA_PUSH_LOCK_TIMEOUT; the window ends
# this much earlier, leaving time to move every alias and apply the waiting release
PUSH_MARGIN_SECONDS = 60


class StrategyKind(StrEnum):
    ALL_AT_ONCE = "all-at-once"
    CANARY = "canary"


@dataclass(frozen=True)
class DeployStrategy:
    """An app's deploy strategy; the canary fields are None for all-at-once."""

    kind: StrategyKind = StrategyKind.ALL_AT_ONCE
    percent: int | None = None
    seconds: int | None = None
    max_errors: int | None = None

    @property
    def canary(self) -> bool:
        return self.kind == StrategyKind.CANARY

    def describe(self) -> str:
        """'all-at-once' or 'canary: 10% for 5 minutes, at most 0 errors'."""
        if not self.canary:
            return StrategyKind.ALL_AT_ONCE.value
        return (
            f"canary: {self.percent}% for {window(self.seconds or 0)}, "
            f"at most {self.max_errors} errors"
        )


def strategy(
    kind: str,
    *,
    percent: int | None = None,
    minutes: int | None = None,
    seconds: int | None = None,
    max_errors: int | None = None,
    push_lock_timeout: float | None = None,
) -> DeployStrategy:
    """A validated strategy; raises InvalidInput naming what is wrong and what is allowed.

    A canary needs `percent` (1..99) and a window as `minutes` (1..60) or `seconds`
    (1..3600, for short windows), not both; `max_errors` defaults to 0. Given
    `push_lock_timeout` (seconds, the setting LAAMBDA_PUSH_LOCK_TIMEOUT), the window must also
    end PUSH_MARGIN_SECONDS before it: a push waiting behind the canary would give up first.
    """
    try:
        chosen = StrategyKind(kind)
    except ValueError:
        raise InvalidInput(
            f"deploy strategy {kind!r} is unknown: use 'all-at-once' or 'canary'"
        ) from None
    if chosen == StrategyKind.ALL_AT_ONCE:
        if any(value is not None for value in (percent, minutes, seconds, max_errors)):
            raise InvalidInput(
                "all-at-once takes no percent, minutes, seconds or max-errors: those are "
                "for 'canary'"
            )
        return DeployStrategy()
    if percent is None or not MIN_PERCENT <= percent <= MAX_PERCENT:
        raise InvalidInput(
            f"canary: percent must be {MIN_PERCENT}..{MAX_PERCENT} (the share of traffic the "
            f"new versions get), not {percent}"
        )
    if minutes is not None and seconds is not None:
        raise InvalidInput("canary: give the window as minutes or as seconds, not both")
    if minutes is None and seconds is None:
        raise InvalidInput("canary: give the window, e.g. --minutes 5")
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"canary: minutes must be 1..{MAX_MINUTES}, not {minutes}")
    if seconds is not None and not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise InvalidInput(f"canary: seconds must be {MIN_SECONDS}..{MAX_SECONDS}, not {seconds}")
    if max_errors is not None and not 0 <= max_errors <= MAX_ERRORS:
        raise InvalidInput(f"canary: max-errors must be 0..{MAX_ERRORS}, not {max_errors}")
    total = seconds if seconds is not None else (minutes or 0) * 60
    if push_lock_timeout is not None:
        longest = longest_window(push_lock_timeout)
        if total > longest:
            raise InvalidInput(
                f"canary: the window ({window(total)}) may be at most {window(longest)}: a "
                f"push waiting behind a canary gives up after LAAMBDA_PUSH_LOCK_TIMEOUT "
                f"({push_lock_timeout:.0f} s) and the window must end {PUSH_MARGIN_SECONDS} s "
                "before; choose a shorter window, or ask the operator to raise that setting"
            )
    return DeployStrategy(
        kind=StrategyKind.CANARY,
        percent=percent,
        seconds=total,
        max_errors=max_errors or 0,
    )


def longest_window(push_lock_timeout: float) -> int:
    """The longest canary window, in seconds, that a push waiting behind it outlasts (at
    least MIN_SECONDS, at most MAX_SECONDS)."""
    return max(MIN_SECONDS, min(MAX_SECONDS, int(push_lock_timeout) - PUSH_MARGIN_SECONDS))


class CanaryDecision(StrEnum):
    PROMOTE = "promote"  # asked for: move every alias fully now
    ABORT = "abort"  # asked for: move every alias back now
    ROLLBACK = "rollback"  # too many errors: move every alias back
    COMPLETE = "complete"  # the window ended healthy: move every alias fully

    @property
    def forward(self) -> bool:
        return self in (CanaryDecision.PROMOTE, CanaryDecision.COMPLETE)


def window(seconds: float) -> str:
    """'5 minutes', '1 minute', '90 s', '4 s'."""
    whole = round(seconds)
    if whole >= 60 and whole % 60 == 0:
        minutes = whole // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{whole} s"


def ends_note(version: int, ends_at: datetime, ending: str | None = None) -> str:
    """What a release made during a canary waits for: 'waiting for the canary of v7 to end
    (at 10:42:07 UTC; `laambda releases:promote` / `releases:abort` end it now)', or with
    `ending` (the reason of a decision already taken) 'waiting for the canary of v7 to end
    (ending now: canary aborted by rollback to v6)'."""
    if ending:
        return f"waiting for the canary of v{version} to end (ending now: {ending})"
    return (
        f"waiting for the canary of v{version} to end (at {ends_at.astimezone(UTC):%H:%M:%S} UTC; "
        "`laambda releases:promote` / `releases:abort` end it now)"
    )


def problems(errors: int, throttles: int) -> str:
    """'3 errors', '1 error and 2 throttles'."""
    said = f"{errors} error{'s' if errors != 1 else ''}"
    if throttles:
        said += f" and {throttles} throttle{'s' if throttles != 1 else ''}"
    return said


def progress(*, percent: int, version: int, seconds: float, errors: int, throttles: int) -> str:
    """The line the pusher hears as the canary goes on."""
    return (
        f"-----> Canary: {percent}% of traffic on v{version} for {window(seconds)}; "
        f"{problems(errors, throttles)} so far"
    )


def announcement(*, percent: int, version: int, seconds: float, max_errors: int) -> str:
    """The line the pusher hears when the canary begins, before any metric is read (a first
    read may already decide it)."""
    return (
        f"-----> Canary: {percent}% of traffic on v{version} for {window(seconds)}; "
        f"more than {problems(max_errors, 0)} or throttles rolls it back"
    )


def too_many(errors: int, throttles: int, max_errors: int) -> bool:
    """Throttles count as errors: a new version that cannot get capacity is not healthy."""
    return errors + throttles > max_errors


def rollback_reason(*, errors: int, throttles: int, elapsed: float) -> str:
    """'canary: 3 errors in 5 minutes' — the failed release's error."""
    return f"canary: {problems(errors, throttles)} in {window(elapsed)}"
