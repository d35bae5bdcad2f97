"""The Procfile: one Lambda function per line, `name: module.function`.

Pure: takes text, returns entries. Every error names the line and shows a correct one, because
the person reading it is looking at a rejected `git push`, not at this code.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from laambda.domain.function import MAX_FUNCTION_NAME, RELEASE_ENTRY, function_name
from laambda.errors import BuildFailed

EXAMPLE = "create: CreateThumbnail.handler"
NO_PROCFILE = (
    "no Procfile found at the root of the repository: add one with a line per function, "
    f"such as\n    {EXAMPLE}\n    resize: images.resize.handler"
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PY_HANDLER = re.compile(rf"^{_IDENT}(\.{_IDENT})*\.{_IDENT}$")
_NODE_HANDLER = re.compile(rf"^[A-Za-z0-9_@-][A-Za-z0-9_.@-]*(/[A-Za-z0-9_.@-]+)*\.{_IDENT}$")
_NODE_EXTENSIONS = (".js", ".mjs", ".cjs")


@dataclass(frozen=True)
class ProcfileEntry:
    name: str
    handler: str
    line: int

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Procfile:
    entries: tuple[ProcfileEntry, ...]

    def as_dict(self) -> dict[str, str]:
        """Entry name -> handler, in Procfile order (dicts keep insertion order)."""
        return {entry.name: entry.handler for entry in self.entries}

    def declared(self) -> str:
        """What the build log says the Procfile declares: "2 function(s): create, resize",
        and the release phase apart, since it is not a function of the app ("…, and a
        release phase: api.release")."""
        functions = [entry.name for entry in self.entries if entry.name != RELEASE_ENTRY]
        text = f"{len(functions)} function(s): {', '.join(functions)}"
        phase = next((e for e in self.entries if e.name == RELEASE_ENTRY), None)
        return f"{text}, and a release phase: {phase.handler}" if phase else text


def parse_procfile(text: str, *, app_name: str, language: str = "python") -> Procfile:
    """Parse a Procfile for an app; raise BuildFailed naming the first bad line."""
    handler_pattern = _NODE_HANDLER if language == "node" else _PY_HANDLER
    entries: list[ProcfileEntry] = []
    seen: dict[str, int] = {}
    # editors on Windows start files with a byte-order mark and end lines with CRLF
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"Procfile line {number}"
        name, colon, handler = (part.strip() for part in line.partition(":"))
        if not colon or not name or not handler:
            raise BuildFailed(
                f"{where}: {shown(line)} is not 'name: module.function'; write it like '{EXAMPLE}'"
            )
        if not _NAME.match(name):
            raise BuildFailed(
                f"{where}: the name {shown(name)} may hold only lowercase letters, digits, '-' and "
                f"'_', starting with a letter or digit; for example '{EXAMPLE}'"
            )
        deployed = function_name(app_name, name)
        if len(deployed) > MAX_FUNCTION_NAME:
            raise BuildFailed(
                f"{where}: the function name '{deployed}' is {len(deployed)} characters"
                f" long; Lambda allows {MAX_FUNCTION_NAME}: shorten '{name}' to at most "
                f"{MAX_FUNCTION_NAME - len(app_name) - 1} characters"
            )
        if name in seen:
            raise BuildFailed(
                f"{where}: the name '{name}' is already used on line {seen[name]}; "
                "each function needs its own name"
            )
        if not handler_pattern.match(handler):
            shape = "path/module.function" if language == "node" else "package.module.function"
            raise BuildFailed(
                f"{where}: the handler {shown(handler)} is not '{shape}'; for example '{EXAMPLE}'"
            )
        seen[name] = number
        entries.append(ProcfileEntry(name=name, handler=handler, line=number))
    if not entries:
        raise BuildFailed(f"the Procfile declares no function: add a line such as '{EXAMPLE}'")
    if all(entry.name == RELEASE_ENTRY for entry in entries):
        # deploying it would delete every function of the app (those the Procfile no longer
        # names are removed); `apps:destroy` is the way to take an app down
        raise BuildFailed(
            f"the Procfile declares no function: '{RELEASE_ENTRY}' (line {entries[0].line}) is "
            "the release phase, which runs once per release and is not a function; add a line "
            f"such as '{EXAMPLE}'"
        )
    return Procfile(entries=tuple(entries))


def shown(text: str) -> str:
    """Text quoted for a message, anything invisible or unprintable escaped (\\u200b, \\t)."""
    escaped = "".join(
        c if c == " " or (c.isprintable() and not c.isspace()) else ascii(c)[1:-1] for c in text
    )
    return f"'{escaped}'"


def handler_files(entry: ProcfileEntry, *, language: str) -> tuple[str, ...]:
    """The files, relative to the source root, any one of which provides the handler's module."""
    if language == "node":
        return tuple(entry.module + ext for ext in _NODE_EXTENSIONS)
    path = entry.module.replace(".", "/")
    return (f"{path}.py", f"{path}/__init__.py")


def check_handlers(procfile: Procfile, files: Collection[str], *, language: str) -> None:
    """Fail naming the Procfile line and the file looked for when a handler's module is missing."""
    for entry in procfile.entries:
        candidates = handler_files(entry, language=language)
        if not any(candidate in files for candidate in candidates):
            raise BuildFailed(
                f"Procfile line {entry.line}: the handler '{entry.handler}' of '{entry.name}' "
                f"needs {' or '.join(candidates)} in the repository, and there is none; "
                "fix the module path or commit the file"
            )
