"""Config vars become the Lambda environment, so Lambda's rules for it are checked up front."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

ENV_LIMIT_BYTES = 4096
# Lambda's API reference, Environment.Variables: "Key Pattern: [a-zA-Z]([a-zA-Z0-9_])+"
# (https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html): two characters at least
KEY_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
KEY_RULE = (
    "a letter followed by at least one more letter, digit or underscore (like BUCKET_NAME), "
    "as AWS Lambda requires"
)
RESERVED_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)
RESERVED_PREFIXES = ("AWS_LAMBDA_",)
# Lambda lets a function set this one to wrap its runtime
SETTABLE = frozenset({"AWS_LAMBDA_EXEC_WRAPPER"})


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a config var, or None when it can."""
    if key not in SETTABLE and (key in RESERVED_KEYS or key.startswith(RESERVED_PREFIXES)):
        return f"{key} is reserved by AWS Lambda and cannot be set"
    if not KEY_PATTERN.fullmatch(key):
        shown = key if len(key) <= 64 and key.isprintable() else f"{key[:64]!r}…"
        return f"'{shown}' is not a valid config var name: use {KEY_RULE}"
    return None


def environment_size(config: Mapping[str, str]) -> int:
    """Bytes Lambda counts against its 4 KB limit: the map serialised as compact JSON.

    AWS Lambda quotas: "Function environment variables 4 KB, for all environment variables
    associated with the function, combined". What is measured is the JSON text of the map, as
    Lambda's refusal shows ("...exceeded the 4KB limit. String measured: {"A":"B",...}",
    terraform-aws-github-runner issue #3594): no spaces, braces, quotes, colons and commas
    included, and `"`, `\\` and control characters escaped. LocalStack's parity-tested
    emulator measures `json.dumps(variables, separators=(",", ":"))` in UTF-8, which also
    writes every non-ASCII character as a `\\uXXXX` escape (6 bytes; 12 outside the BMP):
    that is modelled here too, so a map accepted here is never refused by Lambda. laambda adds
    no variables of its own to a function's environment: the config vars are all of it.
    """
    return len(json.dumps(dict(config), separators=(",", ":")).encode())


def size_problem(config: Mapping[str, str]) -> str | None:
    """Why `config` cannot be a function's environment for its size (see `environment_size`),
    or None when it fits."""
    size = environment_size(config)
    if size <= ENV_LIMIT_BYTES:
        return None
    over = size - ENV_LIMIT_BYTES
    return (
        f"config vars would total {size} bytes, {over} bytes over Lambda's limit of "
        f"{ENV_LIMIT_BYTES} bytes (4 KB) for a function's environment, measured as AWS does: "
        'as JSON, {"KEY":"value",...}, with quotes, escapes and punctuation; '
        "store large values elsewhere (S3, SSM Parameter Store) and keep a pointer here"
    )


def var_problem(key: str, value: str) -> str | None:
    """Why `key=value` cannot be set as a config var, or None when it can."""
    if (problem := key_problem(key)) is not None:
        return problem
    if "\x00" in value:  # an environment is C strings: a NUL would cut the value short
        return f"the value of {key} holds a NUL character (\\x00), which no environment can hold"
    return None
