"""How a Procfile entry becomes a Lambda function: its name, its architecture, and the check
that a name a user typed is one of the app's entries (or its function name).

Words used across laambda: an *entry* is a Procfile line's name (`create`); a *function name*
is the Lambda function deployed for it (`thumbs-create`, `<app>-<entry>`).

Pure: takes names and returns names, or raises FunctionNotFound. Every route that takes an
entry from a user finds it with `require_entry`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal, get_args

from laambda.errors import FunctionNotFound

MAX_FUNCTION_NAME = 64  # Lambda's limit on a function name

Architecture = Literal["x86_64", "arm64"]
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)
# what Lambda runs a function on when none is asked for, and so what an unpinned app builds for
DEFAULT_ARCHITECTURE = "x86_64"


def function_name(app: str, entry: str) -> str:
    """The Lambda function name of the Procfile entry `entry` of app `app`: `thumbs-create`."""
    return f"{app}-{entry}"


def architecture_or_default(architecture: str | None) -> str:
    """The architecture asked for, or Lambda's default when none was (None or '')."""
    return architecture or DEFAULT_ARCHITECTURE


def linux_machine(architecture: str) -> str:
    """The Linux machine name of a Lambda architecture (`uname -m`, wheel tags): arm64 ->
    aarch64, x86_64 -> x86_64."""
    return "aarch64" if architecture == "arm64" else "x86_64"


def require_entry(app: str, name: str, entries: Collection[str]) -> str:
    """The Procfile entry a user named: `name` itself when it is one of `entries` (the app's
    entry names, in Procfile order), or the entry whose function name it is (`thumbs-create`
    -> `create`), since `laambda functions` and the AWS console show those. An entry of that
    exact name wins over a function name that spells the same.

    Raises FunctionNotFound (404) otherwise; the message lists the entries, or says there are
    none yet.
    """
    if name in entries:
        return name
    for entry in entries:
        if function_name(app, entry) == name:
            return entry
    listed = ", ".join(entries) if entries else "none yet: push code with a Procfile first"
    raise FunctionNotFound(f"app '{app}' has no function '{name}'; its functions: {listed}")
