"""Which Lambda runtime a source tree needs, in the buildpack spirit: first match wins.

Pure: `detect_runtime` takes the text of the few files that decide (name -> text) and a date,
and returns the runtime with the reasons, so the build log can say what was found and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from laambda.domain.function import linux_machine
from laambda.domain.manifests import pipfile_python_version
from laambda.domain.requires_python import requires_python
from laambda.domain.runtime_table import RUNTIMES
from laambda.errors import BuildFailed

PYTHON_MARKERS = ("requirements.txt", "pyproject.toml", "Pipfile", "Pipfile.lock")
NODE_MARKERS = ("package.json",)
VERSION_FILES = (".python-version", "runtime.txt", ".nvmrc")
LOCK_FILES = ("uv.lock", "poetry.lock", "package-lock.json", "npm-shrinkwrap.json")


@dataclass(frozen=True)
class Runtime:
    identifier: str
    language: str
    version: str
    os: str
    glibc: str
    deprecation: date
    block_create: date
    block_update: date

    def wheel_platform(self, architecture: str) -> str:
        """The manylinux platform tag of this runtime's Amazon Linux, e.g. manylinux_2_17_x86_64."""
        machine = linux_machine(architecture)
        return f"manylinux_{self.glibc}_{machine}"


@dataclass(frozen=True)
class Detection:
    runtime: Runtime
    reason: str  # "found requirements.txt"
    version_reason: str  # "from .python-version", "newest supported"
    manifest: str  # the file that lists the dependencies
    lockfile: str | None
    warnings: tuple[str, ...]


ALL_RUNTIMES = tuple(Runtime(**row) for row in RUNTIMES)


def supported(language: str, *, today: date) -> list[Runtime]:
    """Runtimes of a language that Lambda still accepts today, newest first."""
    return [r for r in ALL_RUNTIMES if r.language == language and r.block_update > today]


def _supported_list(language: str, today: date) -> str:
    return ", ".join(r.identifier for r in supported(language, today=today))


def check_runtime(identifier: str, *, today: date, source: str) -> tuple[Runtime, list[str]]:
    """The runtime with its deprecation warnings; BuildFailed when Lambda does not accept it."""
    runtime = next((r for r in ALL_RUNTIMES if r.identifier == identifier), None)
    language = "node" if identifier.startswith("node") else "python"
    if runtime is None:
        raise BuildFailed(
            f"{identifier} ({source}) is not a Lambda runtime laambda knows; "
            f"supported: {_supported_list(language, today)}"
        )
    newest = supported(runtime.language, today=today)[0].identifier
    if runtime.block_update <= today:
        raise BuildFailed(
            f"{identifier} ({source}) is no longer accepted by Lambda (since "
            f"{runtime.block_update.isoformat()}); supported: "
            f"{_supported_list(runtime.language, today)}"
        )
    warnings = []
    if runtime.deprecation <= today:
        warnings.append(
            f"{identifier} was deprecated by Lambda on {runtime.deprecation.isoformat()}; Lambda "
            f"stops accepting it on {runtime.block_update.isoformat()} (new functions from "
            f"{runtime.block_create.isoformat()}): move to {newest}"
        )
    return runtime, warnings


def _python_sources(files: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each Python version the tree's files name, first the one that wins: (runtime, "from
    .python-version"). BuildFailed for the winning file when it names no version."""
    found: list[tuple[str, str]] = []
    for name, pattern in (
        (".python-version", r"(\d+)\.(\d+)"),
        ("runtime.txt", r"python-(\d+)\.(\d+)"),
    ):
        if name in files:
            text = _first_line(files[name], comments=name == ".python-version")
            match = re.match(pattern, text)
            if not match and not found:
                raise BuildFailed(
                    f"{name} says '{text}', which is not a Python version; "
                    f"write it like '{'python-3.12' if name == 'runtime.txt' else '3.12'}'"
                )
            found.append((f"python{match[1]}.{match[2]}" if match else text, f"from {name}"))
    for name, lock in (("Pipfile", False), ("Pipfile.lock", True)):
        pipfile = pipfile_python_version(files[name], lock=lock) if name in files else None
        if pipfile is None:
            continue
        match = re.match(r"(\d+)\.(\d+)", pipfile)
        if not match and not found:
            raise BuildFailed(
                f"{name} requires python_version '{pipfile}', which is not a Python "
                'version; write it in the Pipfile like python_version = "3.12"'
            )
        found.append(
            (f"python{match[1]}.{match[2]}" if match else pipfile, f"from {name} [requires]")
        )
    return found


def _first_line(text: str, *, comments: bool) -> str:
    """The first line of a version file that is not blank, stripped ('' when none). With
    `comments`, lines starting with '#' are skipped too, as uv does for .python-version
    (crates/uv-python/src/version_files.rs `try_from_path`: "Skip comments and empty
    lines", on the trimmed line)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not (comments and line.startswith("#")):
            return line
    return ""


def _ignored(identifier: str, reason: str, others: list[tuple[str, str]]) -> list[str]:
    """A warning for each version source that names another version than the one used.
    laambda's order is .python-version, runtime.txt, Pipfile: .python-version is what uv and
    pyenv read, and Heroku deprecated runtime.txt for it (Heroku's own buildpack still lets
    runtime.txt win when both are present, so the warning says which one laambda follows)."""
    used = reason.removeprefix("from ").removesuffix(" [requires]")
    warnings = []
    for other, other_reason in others:
        if other != identifier:
            name = other_reason.removeprefix("from ").removesuffix(" [requires]")
            fix = (
                "delete runtime.txt (Heroku deprecated it for .python-version)"
                if name == "runtime.txt"
                else f"make {name} name {identifier} too"
            )
            warnings.append(
                f"{name} names {other} but {used} names {identifier}: building for "
                f"{identifier} ({reason}) and ignoring {name}; {fix}"
            )
    return warnings


def _python_version(
    files: Mapping[str, str], today: date, default: str | None
) -> tuple[str, str, list[str]]:
    """The Python runtime the files name (the first of _python_sources), why, and a warning
    for each file that names another; else the default, or the newest supported. When
    pyproject.toml's requires-python excludes that one, the newest runtime it admits that is
    not newer than the default (the local cloud's default is the newest this machine can
    run), else the oldest admitted one newer than it."""
    found = _python_sources(files)
    if found:
        (identifier, reason), *others = found
        return identifier, reason, _ignored(identifier, reason, others)
    requirement = requires_python(files)
    candidates = supported("python", today=today)  # newest first
    chosen = next((r for r in ALL_RUNTIMES if r.identifier == default), None) or candidates[0]
    if requirement is not None and not requirement.admits(chosen.version):
        admitted = [r for r in candidates if requirement.admits(r.version)]
        older = [r for r in admitted if _version_key(r) <= _version_key(chosen)]
        if older:
            reason = f"newest supported that {requirement.where} admits"
            if default:
                reason += f", not newer than the server's default {default}"
            return older[0].identifier, reason, []
        if admitted:
            reason = f"oldest that {requirement.where} admits newer than the server's default"
            return admitted[-1].identifier, f"{reason} {chosen.identifier}", []
    if default:
        return default, "the server's default for apps that name none", []
    return chosen.identifier, "newest supported", []


def _version_key(runtime: Runtime) -> tuple[int, ...]:
    """A runtime's version as numbers, to compare: '3.9' < '3.12'."""
    return tuple(int(part) for part in runtime.version.split("."))


def _check_requires_python(files: Mapping[str, str], runtime: Runtime, reason: str) -> None:
    """BuildFailed when pyproject.toml's Python constraint excludes the runtime, naming both:
    uv would refuse to install the project on it."""
    requirement = requires_python(files)
    if requirement is None or requirement.admits(runtime.version):
        return
    raise BuildFailed(
        f"{requirement.where} does not admit {runtime.identifier} ({reason}): name a Python "
        "version it admits in .python-version, or change the constraint"
    )


def _node_majors(spec: str, candidates: list[int]) -> list[int]:
    """The candidate majors an engines.node / .nvmrc spec admits (the common range forms)."""
    spec = spec.strip().lstrip("v")
    if spec in ("", "*", "node", "latest") or spec.startswith("lts"):
        return candidates
    admitted: list[int] = []
    for alternative in spec.split("||"):
        low = re.search(r">=?\s*v?(\d+)", alternative)
        high = re.search(r"<(=?)\s*v?(\d+)", alternative)
        if low:
            top = int(high[2]) + (1 if high[1] else 0) if high else 10**6
            admitted += [m for m in candidates if int(low[1]) <= m < top]
        elif number := re.search(r"(\d+)", alternative):
            admitted.append(int(number[1]))
    return admitted


def _node_version(files: Mapping[str, str], today: date, default: str | None) -> tuple[str, str]:
    """The Node.js runtime for the app and why: engines.node in package.json, else .nvmrc,
    else the server's default, else the newest supported. A range (`>=18`) takes the
    server's default when it admits it, else its newest supported major.

    Raises BuildFailed when package.json is not JSON or the spec admits no supported major."""
    majors = [int(r.version) for r in supported("node", today=today)]
    spec, source = "", "newest supported"
    try:
        engines = json.loads(files["package.json"]).get("engines") or {}
    except (ValueError, AttributeError):
        raise BuildFailed("package.json is not valid JSON: fix it and push again") from None
    if isinstance(engines, dict) and isinstance(engines.get("node"), str):
        spec, source = engines["node"], "from engines.node in package.json"
    elif ".nvmrc" in files:
        spec, source = files[".nvmrc"].strip(), "from .nvmrc"
    elif default:
        return default, "the server's default for apps that name none"
    admitted = _node_majors(spec, majors) if spec else majors
    if not admitted:
        raise BuildFailed(
            f"Node.js '{spec}' ({source}) is not a version Lambda accepts; "
            f"supported: {_supported_list('node', today)}"
        )
    within = next((r for r in ALL_RUNTIMES if r.identifier == default), None)
    if within is not None and int(within.version) in admitted and int(within.version) in majors:
        # a range, not a pin: the server's default when it admits it (on the local cloud the
        # newest Node.js this machine runs), as for requires-python
        return within.identifier, f"{source}, which admits the server's default"
    best = max(admitted, key=lambda m: (m in majors, m))
    return f"nodejs{best}.x", source


def detect_runtime(
    files: Mapping[str, str],
    *,
    today: date,
    requested: str | None = None,
    defaults: Mapping[str, str] | None = None,
) -> Detection:
    """Detect the language and runtime from the root files of a source tree.

    `requested`: the app's own runtime setting, which wins. `defaults`: language ("python",
    "node") -> the runtime for apps whose files name no version (the server's setting: the
    local cloud's is one the machine can run); else the newest Lambda supports. A default is
    checked as any runtime is."""
    default = (defaults or {}).get
    marker = next((m for m in (*PYTHON_MARKERS, *NODE_MARKERS) if m in files), None)
    if marker is None:
        raise BuildFailed(
            "no supported app found at the root of the repository: looked for "
            f"{', '.join(PYTHON_MARKERS)} (Python) and {', '.join(NODE_MARKERS)} (Node.js)"
        )
    language = "node" if marker in NODE_MARKERS else "python"
    ignored: list[str] = []
    if requested:
        identifier, version_reason = requested, "set for the app"
    elif language == "python":
        identifier, version_reason, ignored = _python_version(files, today, default("python"))
    else:
        identifier, version_reason = _node_version(files, today, default("node"))
    runtime, warnings = check_runtime(identifier, today=today, source=version_reason)
    if runtime.language != language:
        raise BuildFailed(
            f"the app's runtime is {identifier}, but the repository is a "
            f"{'Node.js' if language == 'node' else 'Python'} app (found {marker}); "
            "change the app's runtime or the repository"
        )
    if language == "python":
        _check_requires_python(files, runtime, version_reason)
        warnings += ignored
    manifest, lockfile = marker, None
    if marker == "pyproject.toml":
        lockfile = next((f for f in ("uv.lock", "poetry.lock") if f in files), None)
    elif marker == "Pipfile" and "Pipfile.lock" in files:
        lockfile = "Pipfile.lock"
    elif marker == "package.json":
        lockfile = next(
            (f for f in ("package-lock.json", "npm-shrinkwrap.json") if f in files), None
        )
    return Detection(
        runtime=runtime,
        reason=f"found {marker}" + (f" and {lockfile}" if lockfile else ""),
        version_reason=version_reason,
        manifest=manifest,
        lockfile=lockfile,
        warnings=tuple(warnings),
    )
