"""The Python versions a pyproject.toml admits: PEP 621's `requires-python`, or Poetry's
`[tool.poetry.dependencies] python`, checked against the minor version of a Lambda runtime.

uv refuses to install a project on a Python its `requires-python` excludes (PEP 621: "the
Python version requirements of the project"); a build that installs only the dependencies
would not notice, so the runtime is checked against it before anything is installed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from laambda.domain.manifests import poetry_constraint
from laambda.errors import BuildFailed

# Lambda runs the newest patch release of its minor version, which laambda does not know:
# a minor is admitted when one of its patch releases is
_PATCHES = range(100)


@dataclass(frozen=True)
class RequiresPython:
    specifier: SpecifierSet
    where: str  # "pyproject.toml requires-python '>=3.12'"

    def admits(self, version: str) -> bool:
        """Whether a release of Python `version` ("3.12") satisfies the specifier."""
        return any(self.specifier.contains(f"{version}.{patch}") for patch in _PATCHES)


def requires_python(files: Mapping[str, str]) -> RequiresPython | None:
    """pyproject.toml's Python constraint; None when it names none, or is not TOML (reading
    it for its dependencies says so). BuildFailed, naming the field, for a constraint that is
    not a PEP 440 specifier."""
    try:
        data = tomllib.loads(files.get("pyproject.toml", ""))
    except tomllib.TOMLDecodeError:
        return None
    project = data.get("project")
    written = project.get("requires-python") if isinstance(project, dict) else None
    field = "requires-python"
    if not isinstance(written, str):
        written = _table(_table(_table(data, "tool"), "poetry"), "dependencies").get("python")
        field = "[tool.poetry.dependencies] python"
        if not isinstance(written, str):
            return None
    where = f"pyproject.toml {field} '{written}'"
    try:
        if field == "requires-python":
            specifier = SpecifierSet(written)
        else:
            specifier = SpecifierSet(poetry_constraint(written, where=where))
    except InvalidSpecifier:
        raise BuildFailed(
            f"{where} is not a version specifier (PEP 440): write it like '>=3.12'"
        ) from None
    return RequiresPython(specifier, where)


def _table(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}
