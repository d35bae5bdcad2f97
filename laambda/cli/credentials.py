"""Where the CLI keeps the API URL and token: one file in the user's config directory, readable
by the user alone. LAAMBDA_API_URL and LAAMBDA_API_TOKEN, when set, take precedence."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str | None


def path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "laambda" / "credentials.json"


def load() -> Credentials:
    stored: dict[str, str] = {}
    if path().exists():
        stored = json.loads(path().read_text())
    return Credentials(
        url=os.environ.get("LAAMBDA_API_URL") or stored.get("url") or DEFAULT_URL,
        token=os.environ.get("LAAMBDA_API_TOKEN") or stored.get("token"),
    )


def save(credentials: Credentials) -> Path:
    """Write the file with 0600 permissions from the start (never readable by others)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": credentials.url, "token": credentials.token}, handle)
    os.chmod(target, 0o600)
    return target
