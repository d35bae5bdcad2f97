"""Hiding the platform's secret values in text people see: build output and stored build logs.

Defence in depth behind the build sandbox (a build cannot read these values): whatever a build
prints is passed through a Redactor before it is streamed or stored. Pure: values in, text out.
Values shorter than MIN_LENGTH characters are not hidden: they are too common in ordinary
output ("true", "1024") to hide, and too short to be a credential worth the name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

REDACTED = "[redacted]"
MIN_LENGTH = 8
# names of settings and environment variables whose values are secrets
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|(^|_)KEY$", re.IGNORECASE)


class Redactor:
    """Replaces every occurrence of any of `values` in a text with REDACTED, as written and as
    the output people see escapes it (`spellings`)."""

    def __init__(self, values: Iterable[str]) -> None:
        kept = {
            spelling
            for value in values
            if len(value) >= MIN_LENGTH
            for spelling in spellings(value)
        }
        # the longest first, so a secret that contains another is hidden whole
        ordered = sorted(kept, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)


def spellings(value: str) -> set[str]:
    """`value` and the escaped forms in which a function's output carries it: inside a JSON
    string (Lambda's error payload `{"errorMessage": ...}`, a `statusCode`/`body` answer; with
    non-ASCII as `\\uXXXX` or kept, and that JSON quoted once more, as a log line holding a
    payload does) and inside a Python string's repr (`print(dict)`, a traceback's locals).
    A value holding a quote, a backslash, a newline or a non-ASCII character (a PEM key, a JSON
    credential) is written differently in each."""
    found = {value}
    for escaped in (json.dumps(value), json.dumps(value, ensure_ascii=False), repr(value)):
        inner = escaped[1:-1]
        found |= {inner, json.dumps(inner)[1:-1]}
    return found


def url_secrets(url: str) -> list[str]:
    """The password in a URL such as postgresql://user:pw@host/db, as written and decoded."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def platform_secrets(settings: Mapping[str, object], environ: Mapping[str, str]) -> list[str]:
    """The secret values among settings (name -> value, as Settings.model_dump() gives them)
    and environment variables: values whose name says secret, password, token, credential or
    key (LAAMBDA_SECRET_KEY, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and the password of
    every value that is a URL (the database, broker and Redis URLs), with the whole URL."""
    found: list[str] = []
    named = [*settings.items(), *environ.items()]
    for name, value in named:
        if not isinstance(value, str) or not value:
            continue
        if _SECRET_NAME.search(name):
            found.append(value)
        passwords = url_secrets(value) if "://" in value else []
        if passwords:
            found += [*passwords, value]
    return found
