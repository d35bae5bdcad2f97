"""Branch names an app may follow: git's own rules (`git check-ref-format --branch`).

Pure: takes the name, says what is wrong with it in words, as git would refuse it on a push.
"""

from __future__ import annotations

MAX_BRANCH = 255  # the apps.branch column; git itself has no shorter limit
# git-check-ref-format(1), rules 4 and 5: never in a ref name
_FORBIDDEN = {" ": "a space", "~": "'~'", "^": "'^'", ":": "':'", "?": "'?'", "*": "'*'"}
_FORBIDDEN |= {"[": "'['", "\\": "a backslash"}
BRANCH_RULE = (
    "git's rules for branch names: no spaces, control characters or any of ~ ^ : ? * [ \\, "
    "no '..', '@{' or '//', not starting with '-' or '/', no part starting with '.' or "
    "ending with '.lock', not ending with '/' or '.'"
)


def branch_problem(name: str) -> str | None:
    """Why `name` is not a branch git would accept (`git check-ref-format --branch`), or
    None when it is. The message names the rule broken and shows the name (shortened)."""
    shown = name if len(name) <= 60 and name.isprintable() else f"{name[:60]!r}…"
    why = _why(name)
    if why is None:
        return None
    return f"'{shown}' is not a valid branch name: {why} ({BRANCH_RULE})"


def _why(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_BRANCH:
        return f"it is {len(name)} characters long, over {MAX_BRANCH}"
    if name.startswith("refs/"):
        bare = name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else None
        alone = f": name the branch alone, '{bare[:60]}'" if bare else ""
        return f"it is a full ref name, not a branch name{alone}"
    if name in ("@", "HEAD"):
        return f"'{name}' is reserved by git"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "it holds a control character"
    for char, said in _FORBIDDEN.items():
        if char in name:
            return f"it holds {said}"
    if ".." in name:
        return "it holds '..'"
    if "@{" in name:
        return "it holds '@{'"
    if name.startswith("-"):
        return "it starts with '-'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "it starts or ends with '/', or holds '//'"
    if name.endswith("."):
        return "it ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"its part '{part}' starts with '.'"
        if part.endswith(".lock"):
            return f"its part '{part}' ends with '.lock'"
    return None
