"""Memory and timeout of a function: Lambda's bounds and laambda's defaults (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MEMORY = 1024
DEFAULT_TIMEOUT = 10
MEMORY_RANGE = (128, 10240)
TIMEOUT_RANGE = (1, 900)


@dataclass(frozen=True)
class Resources:
    memory: int = DEFAULT_MEMORY
    timeout: int = DEFAULT_TIMEOUT


def memory_problem(memory: int) -> str | None:
    low, high = MEMORY_RANGE
    if low <= memory <= high:
        return None
    return f"memory must be between {low} and {high} MB, not {memory}"


def timeout_problem(timeout: int) -> str | None:
    low, high = TIMEOUT_RANGE
    if low <= timeout <= high:
        return None
    return f"timeout must be between {low} and {high} seconds, not {timeout}"


def resources_for(entry: str, snapshot: Mapping[str, Any]) -> Resources:
    """The settings a release gives one Procfile entry: its own, else the defaults."""
    own = snapshot.get(entry) or {}
    return Resources(
        memory=int(own.get("memory", DEFAULT_MEMORY)),
        timeout=int(own.get("timeout", DEFAULT_TIMEOUT)),
    )
