"""Python manifests and lock files turned into requirement lines, each with where it came from.

Pure: text in, `(line, where)` pairs out, in pip's requirements syntax, so one reader
(`DependencySet`) applies every rule to every flavour. Only what runs in production ships:
Pipfile's "default" (never "develop"), poetry.lock's "main" group (the old `category` or the
newer `groups`, never optional extras), PEP 621 `dependencies` (never optional-dependencies or
dependency-groups), Poetry 1.x `[tool.poetry.dependencies]` without `optional` ones.
Sources: pipenv's Pipfile and Pipfile.lock formats, Poetry's dependency specification and lock
file, uv's `[tool.uv]` settings and sources.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from packaging.utils import canonicalize_name

from laambda.errors import BuildFailed

Lines = list[tuple[str, str]]

# pipenv accepts these PEP 508 names as keys of a package table
_MARKER_KEYS = (
    "os_name", "sys_platform", "platform_machine", "platform_python_implementation",
    "platform_release", "platform_system", "platform_version", "python_version",
    "python_full_version", "implementation_name", "implementation_version",
)  # fmt: skip


def load_toml(text: str, *, name: str) -> dict[str, Any]:
    """A TOML document, or BuildFailed naming the file and the error's line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BuildFailed(f"{name} is not valid TOML: {exc}") from None


def _local(path: str) -> str:
    """A path pip reads as a path: './x' for a bare folder name."""
    return path if "/" in path or path.startswith(".") else f"./{path}"


def _joined(markers: list[str]) -> str:
    return markers[0] if len(markers) == 1 else " and ".join(f"({m})" for m in markers)


def _sources(sources: Any, where: str) -> Lines:
    urls = [
        s["url"] for s in sources or [] if isinstance(s, dict) and isinstance(s.get("url"), str)
    ]
    return [
        (f"{'--index-url' if i == 0 else '--extra-index-url'} {url}", f"{where}[{i}]")
        for i, url in enumerate(urls)
    ]


def _pipenv_line(name: str, spec: Any) -> str:
    if isinstance(spec, str):
        return name if spec in ("*", "") else f"{name}{spec}"
    if not isinstance(spec, dict):
        return name
    extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
    markers = [spec["markers"]] if isinstance(spec.get("markers"), str) else []
    markers += [f"{key} {spec[key]}" for key in _MARKER_KEYS if isinstance(spec.get(key), str)]
    marker = f" ; {_joined(markers)}" if markers else ""
    hashes = "".join(f" --hash={h}" for h in spec.get("hashes", []) if isinstance(h, str))
    target = spec.get("path") or spec.get("file")
    if isinstance(target, str):
        if "://" in target and not target.startswith("file:"):
            return f"{name}{extras} @ {target}{marker}"
        return f"{_local(target)}{extras}{marker}"
    if isinstance(spec.get("git"), str):
        url = spec["git"] if spec["git"].startswith("git+") else f"git+{spec['git']}"
        ref = f"@{spec['ref']}" if spec.get("ref") else ""
        sub = f"#subdirectory={spec['subdirectory']}" if spec.get("subdirectory") else ""
        return f"{name}{extras} @ {url}{ref}{sub}{marker}"
    version = spec.get("version", "*")
    version = "" if version in ("*", "", None) else version
    return f"{name}{extras}{version}{marker}{hashes}"


def pipfile_lock_lines(text: str) -> Lines:
    """Pipfile.lock's "default" packages with their markers and hashes, and its sources."""
    try:
        data = json.loads(text)
        default = data.get("default", {})
        sources = data.get("_meta", {}).get("sources", [])
    except (ValueError, AttributeError):
        raise BuildFailed("Pipfile.lock is not a valid lock file: run `pipenv lock`") from None
    lines = _sources(sources, "Pipfile.lock _meta.sources")
    for name, spec in sorted(default.items()):
        lines.append((_pipenv_line(name, spec), f'Pipfile.lock "default" {name}'))
    return lines


def pipfile_lines(text: str) -> Lines:
    """Pipfile's [packages] (never [dev-packages]) and its [[source]] indexes."""
    data = load_toml(text, name="Pipfile")
    lines = _sources(data.get("source"), "Pipfile [[source]]")
    for name, spec in (data.get("packages") or {}).items():
        lines.append((_pipenv_line(name, spec), f"Pipfile [packages] {name}"))
    return lines


def pipfile_python_version(text: str, *, lock: bool = False) -> str | None:
    """[requires] python_version (or python_full_version) of a Pipfile, or of a Pipfile.lock's
    _meta.requires (`lock`), as written; None when absent or unreadable."""
    try:
        data = json.loads(text).get("_meta", {}) if lock else tomllib.loads(text)
        requires = data.get("requires") or {}
    except (tomllib.TOMLDecodeError, ValueError, AttributeError):
        return None
    value = requires.get("python_version") or requires.get("python_full_version")
    return str(value) if value else None


def poetry_lock_lines(text: str) -> Lines:
    """The "main" group of a poetry.lock, whatever its format version, without optional extras."""
    lock = load_toml(text, name="poetry.lock")
    lines: Lines = []
    for package in lock.get("package", []):
        name, version = package.get("name"), package.get("version")
        groups = package.get("groups") or [package.get("category", "main")]
        if "main" not in groups or package.get("optional") is True or not name:
            continue
        where = f"poetry.lock package {name}"
        marker = package.get("markers")
        marker = marker.get("main") if isinstance(marker, dict) else marker
        suffix = f" ; {marker}" if isinstance(marker, str) and marker else ""
        source = package.get("source") or {}
        kind, url = source.get("type"), source.get("url", "")
        if kind in ("directory", "file"):
            lines.append((f"{_local(url)}{suffix}", where))
        elif kind == "git":
            ref = source.get("resolved_reference") or source.get("reference")
            sub = f"#subdirectory={source['subdirectory']}" if source.get("subdirectory") else ""
            lines.append((f"{name} @ git+{url}{'@' + ref if ref else ''}{sub}{suffix}", where))
        elif kind == "url":
            lines.append((f"{name} @ {url}{suffix}", where))
        else:
            if kind == "legacy" and url:
                lines.append((f"--extra-index-url {url}", where))
            lines.append((f"{name}=={version}{suffix}", where))
    return lines


def pyproject_lines(text: str) -> Lines:
    """A pyproject.toml without a lock: PEP 621 dependencies (Poetry 2.x and uv too, with
    their path, git and URL sources) or Poetry 1.x [tool.poetry.dependencies]; the indexes
    of [tool.uv] and [[tool.poetry.source]]."""
    data = load_toml(text, name="pyproject.toml")
    project, tool = data.get("project"), data.get("tool") or {}
    poetry, uv = tool.get("poetry") or {}, tool.get("uv") or {}
    lines = _uv_indexes(uv) + _sources(
        poetry.get("source"), "pyproject.toml [[tool.poetry.source]]"
    )
    poetry_deps = poetry.get("dependencies") or {}
    if isinstance(project, dict) and "dependencies" in project:
        uv_sources = uv.get("sources") or {}
        for i, dep in enumerate(project.get("dependencies") or []):
            where = f"pyproject.toml [project] dependencies[{i}]"
            name = canonicalize_name(re.split(r"[\s\[\];<>=!~@(]", dep.strip(), maxsplit=1)[0])
            source = _by_name(uv_sources, name) or _by_name(poetry_deps, name)
            if isinstance(source, dict) and source.get("workspace"):
                raise BuildFailed(
                    f"{where}: {name} comes from the uv workspace, which only uv.lock "
                    "describes: run `uv lock` and commit uv.lock"
                )
            lines.append((_sourced(dep, source) if isinstance(source, dict) else dep, where))
        return lines
    if not isinstance(poetry_deps, dict) or not (poetry_deps.keys() - {"python"}):
        if isinstance(project, dict):
            return lines
        raise BuildFailed(
            "pyproject.toml has no [project] table (PEP 621) nor [tool.poetry.dependencies]: "
            'list the dependencies there, e.g. [project] dependencies = ["pillow>=10"]'
        )
    for name, spec in poetry_deps.items():
        if name.lower() == "python":
            continue
        where = f"pyproject.toml [tool.poetry.dependencies] {name}"
        for one in spec if isinstance(spec, list) else [spec]:
            line = _poetry_line(name, one, where)
            if line is not None:
                lines.append((line, where))
    return lines


def _by_name(table: Any, name: str) -> Any:
    if not isinstance(table, dict):
        return None
    return next((v for k, v in table.items() if canonicalize_name(k) == name), None)


def _uv_indexes(uv: dict[str, Any]) -> Lines:
    where = "pyproject.toml [tool.uv]"
    lines: Lines = []
    if isinstance(uv.get("index-url"), str):
        lines.append((f"--index-url {uv['index-url']}", f"{where} index-url"))
    for url in uv.get("extra-index-url") or []:
        lines.append((f"--extra-index-url {url}", f"{where} extra-index-url"))
    for url in uv.get("find-links") or []:
        lines.append((f"--find-links {url}", f"{where} find-links"))
    for i, index in enumerate(uv.get("index") or []):
        if isinstance(index, dict) and isinstance(index.get("url"), str):
            option = "--index-url" if index.get("default") else "--extra-index-url"
            lines.append((f"{option} {index['url']}", f"pyproject.toml [[tool.uv.index]][{i}]"))
    return lines


def _sourced(dep: str, source: dict[str, Any]) -> str:
    """A PEP 621 dependency replaced by its uv / Poetry source when that is a path, git or URL."""
    head = re.split(r"[;]", dep, maxsplit=1)
    marker = f" ; {head[1].strip()}" if len(head) > 1 else ""
    name = re.split(r"[\s<>=!~@(]", head[0].strip(), maxsplit=1)[0]
    if isinstance(source.get("path"), str):
        extras = name[name.index("[") :] if "[" in name else ""
        return f"{_local(source['path'])}{extras}{marker}"
    if isinstance(source.get("git"), str):
        ref = source.get("rev") or source.get("tag") or source.get("branch")
        sub = f"#subdirectory={source['subdirectory']}" if source.get("subdirectory") else ""
        return f"{name} @ git+{source['git']}{'@' + ref if ref else ''}{sub}{marker}"
    if isinstance(source.get("url"), str):
        return f"{name} @ {source['url']}{marker}"
    return dep


def _poetry_line(name: str, spec: Any, where: str) -> str | None:
    if isinstance(spec, str):
        return f"{name}{poetry_constraint(spec, where=where)}"
    if not isinstance(spec, dict) or spec.get("optional") is True:
        return None
    extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
    markers = [spec["markers"]] if isinstance(spec.get("markers"), str) else []
    if isinstance(spec.get("python"), str):
        specifier = poetry_constraint(spec["python"], where=where)
        for clause in filter(None, specifier.split(",")):
            operator, version = re.match(r"([<>=!~]*)(.*)", clause).groups()  # type: ignore[union-attr]
            markers.append(f'python_full_version {operator} "{version}"')
    if isinstance(spec.get("platform"), str):
        markers.append(f'sys_platform == "{spec["platform"]}"')
    marker = f" ; {_joined(markers)}" if markers else ""
    source = _sourced(f"{name}{extras}", spec)
    if source != f"{name}{extras}":
        return f"{source}{marker}"
    return f"{name}{extras}{poetry_constraint(str(spec.get('version', '*')), where=where)}{marker}"


def poetry_constraint(text: str, *, where: str) -> str:
    """A Poetry constraint as a PEP 440 specifier: ^1.2 -> >=1.2,<2; ~1.2 -> >=1.2,<1.3."""
    text = text.strip()
    if text in ("", "*"):
        return ""
    if "||" in text:
        raise BuildFailed(
            f"{where}: '{text}' ('||') has no pip equivalent: lock the project (`poetry lock`) "
            "and commit poetry.lock"
        )
    clauses = [c for c in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", text) if c]
    out = []
    for clause in clauses:
        clause = clause.replace(" ", "")
        if clause[0] in "^~" and not clause.startswith("~="):
            base = clause[1:]
            parts = [int(p) for p in base.split(".") if p.isdigit()]
            if not parts:
                raise BuildFailed(f"{where}: '{text}' is not a version constraint")
            if clause[0] == "^":
                index = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
            else:
                index = min(1, len(parts) - 1) if len(parts) > 1 else 0
            upper = [*parts[:index], parts[index] + 1]
            out.append(f">={base},<{'.'.join(map(str, upper))}")
        elif clause[0].isdigit():
            out.append(f"=={clause}")
        else:
            out.append(clause)
    return ",".join(out)


_READERS = {
    "Pipfile": (pipfile_lines, "pipenv"),
    "Pipfile.lock": (pipfile_lock_lines, "`pipenv lock`"),
    "poetry.lock": (poetry_lock_lines, "`poetry lock`"),
    "pyproject.toml": (pyproject_lines, "PEP 621 or Poetry's format"),
}


def manifest_lines(name: str, text: str) -> Lines:
    """The requirement lines of a manifest or lock file by its name; a file whose tables or
    arrays are not of the types its tool writes is refused naming the file, not a crash."""
    reader, tool = _READERS[name]
    try:
        return reader(text)
    except (AttributeError, TypeError, KeyError, IndexError):
        raise BuildFailed(
            f"{name} does not have the shape {tool} writes (a table or list holds a value of "
            "another type): fix it, or write it again with its tool"
        ) from None
