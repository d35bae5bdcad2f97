"""Secret values are hidden from text people see."""

from __future__ import annotations

import json

import pytest

from laambda.domain.redact import REDACTED, Redactor, platform_secrets, url_secrets

SETTINGS = {
    "secret_key": "a-secret-key-of-at-least-32-characters!",
    "database_url": "postgresql+psycopg://laambda:p%40ss-word-42@db:5432/laambda",
    "redis_url": "redis://:redis-password-1@cache:6379/0",
    "broker_url": "redis://cache:6379/0",
    "aws_region": "us-east-1",
    "build_timeout": 1800,
}
ENVIRON = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "HOME": "/home/laambda",
    "PATH": "/usr/bin:/bin",
}


def test_platform_secrets_are_the_secret_values_and_url_passwords() -> None:
    found = set(platform_secrets(SETTINGS, ENVIRON))
    assert found == {
        "a-secret-key-of-at-least-32-characters!",
        "p%40ss-word-42",
        "p@ss-word-42",
        "postgresql+psycopg://laambda:p%40ss-word-42@db:5432/laambda",
        "redis-password-1",
        "redis://:redis-password-1@cache:6379/0",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
    }


def test_every_occurrence_is_hidden_and_the_rest_kept() -> None:
    redact = Redactor([*platform_secrets(SETTINGS, ENVIRON), "config-value-123"])
    line = (
        "LAAMBDA_SECRET_KEY=a-secret-key-of-at-least-32-characters!\0"
        "DB=postgresql+psycopg://laambda:p%40ss-word-42@db:5432/laambda pw=p@ss-word-42 "
        "x=config-value-123config-value-123 region us-east-1"
    )
    assert redact(line) == (
        f"LAAMBDA_SECRET_KEY={REDACTED}\0DB={REDACTED} pw={REDACTED} "
        f"x={REDACTED}{REDACTED} region us-east-1"
    )


def test_short_values_are_kept_and_no_values_changes_nothing() -> None:
    assert Redactor(["1", "true", "1024"])("DEBUG=1 true 1024") == "DEBUG=1 true 1024"
    assert Redactor([])("anything") == "anything"


def test_url_without_password() -> None:
    assert url_secrets("redis://cache:6379/0") == []
    assert url_secrets("http://[::1") == []


PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (PEM, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
        ('Ab"Cd\\Ef/Gh‹é>', "Ef/Gh"),
        ("it's-a-secret", "a-secret"),
        ("plain-secret-value", "secret-value"),
    ],
)
def test_a_value_is_hidden_as_output_escapes_it(value: str, fragment: str) -> None:
    """The ways a function's output carries a config value: Lambda's error JSON, an answer's
    JSON body (ASCII-escaped or not), that JSON logged inside JSON again, print(dict)."""
    redact = Redactor([value])
    for output in (
        value,
        json.dumps({"errorMessage": f"boom {value}"}),
        json.dumps({"body": value}, ensure_ascii=False),
        json.dumps(json.dumps({"body": value})),
        str({"KEY": value}),
        repr([value]),
    ):
        shown = redact(output)
        assert REDACTED in shown, output
        assert fragment not in shown, (output, shown)
