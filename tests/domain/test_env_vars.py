from __future__ import annotations

import pytest

from laambda.domain.env_vars import environment_size, key_problem, size_problem, var_problem


def test_valid_and_reserved_keys() -> None:
    assert key_problem("BUCKET_NAME") is None
    assert key_problem("AWS_LAMBDA_EXEC_WRAPPER") is None
    assert (
        key_problem("AWS_SESSION_TOKEN")
        == "AWS_SESSION_TOKEN is reserved by AWS Lambda and cannot be set"
    )
    assert "not a valid config var name" in (key_problem("MY-KEY") or "")
    assert "not a valid config var name" in (key_problem("_X") or "")


def test_keys_follow_lambdas_pattern() -> None:
    """[a-zA-Z]([a-zA-Z0-9_])+: a letter, then at least one letter, digit or underscore."""
    assert key_problem("DB") is None
    assert key_problem("a1") is None
    assert key_problem("X_") is None
    for bad in ("X", "1A", "A-B", "A B", "A\x00B", "ÄB", "AB\n"):
        problem = key_problem(bad)
        assert problem is not None, bad
        assert "at least one more letter, digit or underscore" in problem
    assert "\x00" not in (key_problem("A\x00B") or "")


class TestSize:
    """Lambda measures the map as compact JSON ("String measured: {"A":"B",...}")."""

    @pytest.mark.parametrize(
        ("config", "size"),
        [
            ({}, 2),
            ({"KY": "v"}, len('{"KY":"v"}')),
            ({"AA": "x", "BB": "y"}, len('{"AA":"x","BB":"y"}')),
            ({"KY": 'say "hi"'}, len('{"KY":"say \\"hi\\""}')),
            ({"KY": "C:\\dir"}, len('{"KY":"C:\\\\dir"}')),
            ({"KY": "a\nb\tc"}, len('{"KY":"a\\nb\\tc"}')),
            ({"KY": "\x01"}, len('{"KY":"\\u0001"}')),
            ({"KY": "é"}, len('{"KY":"\\u00e9"}')),
            ({"KY": "😀"}, len('{"KY":"\\ud83d\\ude00"}')),
        ],
    )
    def test_size_is_the_compact_json_with_its_escapes(
        self, config: dict[str, str], size: int
    ) -> None:
        assert environment_size(config) == size

    def test_what_key_plus_value_bytes_undercounted_is_refused(self) -> None:
        # keys and values total exactly 4096 bytes; the JSON Lambda measures is 4109
        problem = size_problem({"AA": "x" * 2046, "BB": "y" * 2046})
        assert problem is not None
        assert problem.startswith(
            "config vars would total 4109 bytes, 13 bytes over Lambda's limit of 4096 bytes"
        )

    def test_exactly_the_limit_is_accepted(self) -> None:
        assert size_problem({"KY": "x" * (4096 - len('{"KY":""}'))}) is None
        assert size_problem({"KY": "x" * (4097 - len('{"KY":""}'))}) is not None


def test_values_hold_no_nul() -> None:
    assert var_problem("KY", "a\x00b") == (
        "the value of KY holds a NUL character (\\x00), which no environment can hold"
    )
    assert (var_problem("AWS_REGION", "x") or "").startswith("AWS_REGION is reserved")
    assert var_problem("KY", "fine") is None
