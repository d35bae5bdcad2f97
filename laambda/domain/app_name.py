"""App names are DNS labels short enough that `<app>-<entry>` fits Lambda's 64 characters."""

from __future__ import annotations

import re

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
APP_NAME_RULE = (
    "3 to 30 characters: lowercase letters, digits and dashes, starting with a letter "
    "and not ending with a dash"
)


def app_name_problem(name: str) -> str | None:
    """Why `name` is not a valid app name, or None when it is."""
    if APP_NAME.fullmatch(name) and "--" not in name:
        return None
    # shown as typed only while short and printable: the answer never carries a megabyte back
    shown = name if len(name) <= 40 and name.isprintable() else f"{name[:40]!r}…"
    if "--" in name:
        return f"'{shown}' is not a valid app name: no two dashes in a row ({APP_NAME_RULE})"
    return f"'{shown}' is not a valid app name: {APP_NAME_RULE}"
