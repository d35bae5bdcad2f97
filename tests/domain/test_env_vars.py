from __future__ import annotations

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


def test_size_counts_utf8_bytes() -> None:
    assert environment_size({"K": "é"}) == 3
    assert "4099 bytes, 3 bytes over" in (size_problem({"KY": "x" * 4097}) or "")


def test_values_hold_no_nul() -> None:
    assert var_problem("KY", "a\x00b") == (
        "the value of KY holds a NUL character (\\x00), which no environment can hold"
    )
    assert (var_problem("AWS_REGION", "x") or "").startswith("AWS_REGION is reserved")
    assert var_problem("KY", "fine") is None
