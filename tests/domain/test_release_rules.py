from __future__ import annotations

import pytest

from laambda.domain.release import (
    ReleaseSummary,
    RollbackProblem,
    config_description,
    deploy_description,
    rollback_target,
)


def r(version: int, status: str = "succeeded", build: bool = True) -> ReleaseSummary:
    return ReleaseSummary(version, status, build)


class TestDescriptions:
    def test_deploy(self) -> None:
        assert deploy_description("3f9c1ab0ffee") == "Deploy 3f9c1ab"

    @pytest.mark.parametrize(
        ("set_keys", "unset_keys", "expected"),
        [
            (["BUCKET", "TIMEOUT"], [], "Set BUCKET, TIMEOUT"),
            ([], ["DEBUG"], "Unset DEBUG"),
            (["A"], ["B", "C"], "Set A; unset B, C"),
        ],
    )
    def test_config(self, set_keys: list[str], unset_keys: list[str], expected: str) -> None:
        assert config_description(set_keys, unset_keys) == expected


class TestRollbackTarget:
    def test_default_is_previous_succeeded_release_with_build(self) -> None:
        history = [r(1), r(2, build=False), r(3, "failed"), r(4), r(5, "failed")]
        assert rollback_target(history, None) == 1

    def test_current_is_newest_not_failed(self) -> None:
        assert rollback_target([r(1), r(2), r(3, "failed")], None) == 1

    @pytest.mark.parametrize(
        ("history", "requested", "message"),
        [
            ([r(1)], 7, "v7 does not exist"),
            ([r(1), r(2, "failed"), r(3)], 2, "v2 failed to deploy"),
            ([r(1, build=False), r(2)], 1, "v1 has no build"),
            ([r(1), r(2)], 2, "v2 is already the current release"),
            ([r(1)], None, "no earlier deployed release"),
            ([r(1), r(2, "applying")], 2, "v2 is applying"),
        ],
    )
    def test_refusals_say_why(
        self, history: list[ReleaseSummary], requested: int | None, message: str
    ) -> None:
        with pytest.raises(RollbackProblem, match=message):
            rollback_target(history, requested)
