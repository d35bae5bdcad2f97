"""Deploy strategies: what is accepted, and the words the pusher and `releases` show."""

from __future__ import annotations

import pytest

from laambda.domain.strategy import (
    DeployStrategy,
    StrategyKind,
    announcement,
    progress,
    rollback_reason,
    strategy,
    too_many,
    window,
)
from laambda.errors import InvalidInput


def test_a_canary_in_minutes_or_seconds() -> None:
    assert strategy("canary", percent=10, minutes=5) == DeployStrategy(
        StrategyKind.CANARY, percent=10, seconds=300, max_errors=0
    )
    chosen = strategy("canary", percent=50, seconds=20, max_errors=2)
    assert chosen.describe() == "canary: 50% for 20 s, at most 2 errors"
    assert strategy("all-at-once") == DeployStrategy()
    assert DeployStrategy().describe() == "all-at-once"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percent": 0, "minutes": 1},
        {"percent": 100, "minutes": 1},
        {"percent": 10},
        {"percent": 10, "minutes": 0},
        {"percent": 10, "minutes": 61},
        {"percent": 10, "seconds": 3601},
        {"percent": 10, "minutes": 1, "seconds": 1},
        {"percent": 10, "minutes": 1, "max_errors": -1},
    ],
)
def test_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidInput, match=r"^canary: "):
        strategy("canary", **kwargs)


def test_words() -> None:
    assert [window(s) for s in (4, 59.6, 60, 90, 300)] == [
        "4 s",
        "1 minute",
        "1 minute",
        "90 s",
        "5 minutes",
    ]
    assert progress(percent=10, version=8, seconds=300, errors=0, throttles=0) == (
        "-----> Canary: 10% of traffic on v8 for 5 minutes; 0 errors so far"
    )
    assert announcement(percent=10, version=8, seconds=300, max_errors=1) == (
        "-----> Canary: 10% of traffic on v8 for 5 minutes; more than 1 error or throttles "
        "rolls it back"
    )
    assert rollback_reason(errors=3, throttles=0, elapsed=300) == "canary: 3 errors in 5 minutes"
    assert rollback_reason(errors=1, throttles=2, elapsed=42) == (
        "canary: 1 error and 2 throttles in 42 s"
    )
    assert too_many(0, 1, 0)  # a throttle counts
    assert not too_many(2, 0, 2)
