"""How a Procfile entry becomes a Lambda function: its name, its architecture, and the check
that a name a user typed is one of the app's entries.

Words used across laambda: an *entry* is a Procfile line's name (`create`); a *function name*
is the Lambda function deployed for it (`thumbs-create`, `<app>-<entry>`).

Pure: takes names and returns names, or raises FunctionNotFound.
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


def require_entry(app: str, entry: str, entries: Collection[str]) -> None:
    """Raise FunctionNotFound (404) unless `entry` is one of `entries`, the app's Procfile
    entry names (in Procfile order); the message lists them, or says there are none yet."""
    if entry in entries:
        return
    listed = ", ".join(entries) if entries else "none yet: push code with a Procfile first"
    raise FunctionNotFound(f"app '{app}' has no function '{entry}'; its functions: {listed}")
