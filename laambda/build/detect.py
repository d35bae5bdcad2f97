"""Read the deciding files of an unpacked tree, detect the runtime, and write the dependency list.

Every Python flavour (requirements.txt, PEP 621 pyproject.toml with or without uv.lock or
poetry.lock, Pipfile/Pipfile.lock) is turned into one requirements.txt, so every builder has
one job and the cache key is the hash of what will actually be installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from laambda.domain.runtime import (
    LOCK_FILES,
    NODE_MARKERS,
    PYTHON_MARKERS,
    VERSION_FILES,
    Detection,
    detect_runtime,
)
from laambda.errors import BuildFailed

_MAX_READ = 1024 * 1024


def detect(src: Path, *, today: date, requested: str | None) -> Detection:
    """Detect the runtime of the tree at `src` from its root files."""
    files: dict[str, str] = {}
    for name in (*PYTHON_MARKERS, *NODE_MARKERS, *VERSION_FILES, *LOCK_FILES):
        path = src / name
        if path.is_file() and not path.is_symlink():
            files[name] = path.read_text(encoding="utf-8", errors="replace")[:_MAX_READ]
    return detect_runtime(files, today=today, requested=requested)


def write_dependency_files(src: Path, detection: Detection, dest: Path) -> str:
    """Write the files the builder needs into `dest`; returns their text, for the cache key."""
    dest.mkdir(parents=True, exist_ok=True)
    if detection.runtime.language == "node":
        names = ["package.json"] + ([detection.lockfile] if detection.lockfile else [])
        for name in names:
            shutil.copyfile(src / name, dest / name)
        return "\n".join(f"{name}\n{(src / name).read_text()}" for name in names)
    text = _python_requirements(src, detection)
    (dest / "requirements.txt").write_text(text)
    return text


def _python_requirements(src: Path, detection: Detection) -> str:
    manifest, lockfile = detection.manifest, detection.lockfile
    if manifest == "requirements.txt":
        return (src / manifest).read_text()
    if lockfile == "uv.lock":
        return _uv_export(src)
    if manifest == "pyproject.toml":
        project = _toml(src, manifest).get("project")
        if lockfile == "poetry.lock":
            return _poetry_lock(_toml(src, lockfile))
        if not isinstance(project, dict):
            raise BuildFailed(
                "pyproject.toml has no [project] table: list the dependencies there "
                '(PEP 621), e.g. [project] dependencies = ["pillow>=10"]'
            )
        dependencies = project.get("dependencies", [])
        return "".join(f"{dep}\n" for dep in dependencies)
    if manifest == "Pipfile.lock" or lockfile == "Pipfile.lock":
        return _pipfile_lock(src / "Pipfile.lock")
    packages = _toml(src, "Pipfile").get("packages", {})
    return "".join(_pipfile_line(name, spec) for name, spec in packages.items())


def _toml(src: Path, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads((src / name).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BuildFailed(f"{name} is not valid TOML: {exc}") from None


def _uv_export(src: Path) -> str:
    """uv.lock's pinned set for the default groups, without the project itself."""
    command = [
        sys.executable, "-m", "uv", "export", "--frozen", "--no-dev", "--no-hashes",
        "--no-emit-project", "--no-header", "--no-annotate",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=src, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildFailed(f"uv.lock cannot be read: {result.stderr.strip()}; run `uv lock`")
    return result.stdout


def _poetry_lock(lock: dict[str, Any]) -> str:
    lines = []
    for package in lock.get("package", []):
        groups = package.get("groups") or [package.get("category", "main")]
        if "main" in groups:
            lines.append(f"{package['name']}=={package['version']}\n")
    return "".join(lines)


def _pipfile_lock(path: Path) -> str:
    try:
        default = json.loads(path.read_text()).get("default", {})
    except ValueError:
        raise BuildFailed("Pipfile.lock is not valid JSON: run `pipenv lock`") from None
    return "".join(f"{name}{spec.get('version', '')}\n" for name, spec in sorted(default.items()))


def _pipfile_line(name: str, spec: Any) -> str:
    if isinstance(spec, str):
        return f"{name}\n" if spec == "*" else f"{name}{spec}\n"
    version = spec.get("version", "*") if isinstance(spec, dict) else "*"
    return f"{name}\n" if version == "*" else f"{name}{version}\n"
