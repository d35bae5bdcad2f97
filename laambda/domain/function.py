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

from laambda.errors import FunctionNotFound, InvalidInput

MAX_FUNCTION_NAME = 64  # Lambda's limit on a function name
# Heroku's release phase: this entry runs once per release before `live` moves, never
# as a function of its own (https://devcenter.heroku.com/articles/release-phase)
RELEASE_ENTRY = "release"

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
    -> `create`), since `laambda functions` and the AWS console show those.

    A name that is both an entry and another entry's function name (entries `web` and
    `red-web` of app `red`: `red-web` is the entry `red-web` and the function of `web`) is
    refused, never silently chosen: InvalidInput (422) naming both meanings and a spelling
    that names each one alone (`red-red-web` and `web`).

    Raises FunctionNotFound (404) when it names none; the message lists the app's functions
    (the release phase is not one), or says there are none yet.
    """
    meant = [e for e in entries if name in (e, function_name(app, e))]
    if len(meant) > 1:
        raise InvalidInput(
            f"'{name}' is ambiguous in app '{app}': it is "
            + " and ".join(_meaning(name, entry) for entry in meant)
            + "; "
            + "; ".join(_spelling(app, name, entry, entries) for entry in meant)
        )
    if meant:
        return meant[0]
    functions = [entry for entry in entries if entry != RELEASE_ENTRY]
    listed = (
        ", ".join(functions)
        if functions
        else "none (only a release phase)"
        if entries
        else "none yet: push code with a Procfile first"
    )
    raise FunctionNotFound(f"app '{app}' has no function '{name}'; its functions: {listed}")


def release_phase_refusal(*, never: str, instead: str) -> str:
    """The message refusing the release phase where a function is meant (`never`: "from an
    event source"; `instead`: what to do), since it is no function of the app."""
    return (
        f"'{RELEASE_ENTRY}' is the release phase: it runs once per release before it goes "
        f"live, never {never}; {instead}"
    )


def _meaning(name: str, entry: str) -> str:
    return f"the entry {entry}" if entry == name else f"the function name of entry {entry}"


def _spelling(app: str, name: str, entry: str, entries: Collection[str]) -> str:
    """How to name `entry` alone: whichever of its spellings (the entry, its function name)
    names no other entry."""
    for spelling in (entry, function_name(app, entry)):
        if spelling != name and [e for e in entries if spelling in (e, function_name(app, e))] == [
            entry
        ]:
            return f"name entry {entry} as {spelling}"
    return f"entry {entry} has no unambiguous name: rename it in the Procfile"
