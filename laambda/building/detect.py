"""Read the deciding files of an unpacked tree, detect the runtime, and write the builder's spec.

Every Python flavour (requirements.txt with its includes, PEP 621 / Poetry / uv pyproject.toml
with or without uv.lock or poetry.lock, Pipfile/Pipfile.lock) is turned into one checked
requirements.txt (see `laambda.building.spec`), so every builder has one job and the cache key is
the hash of what will actually be installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

from laambda.building.spec import Spec, write_node_spec, write_python_spec
from laambda.domain.requirements import decode
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


def detect(
    src: Path,
    *,
    today: date,
    requested: str | None,
    defaults: Mapping[str, str] | None = None,
) -> Detection:
    """Detect the runtime of the tree at `src` from its root files (decoded as pip would);
    a root file that is a symlink counts when it points inside the tree. `defaults`: the
    runtime per language for trees that name no version (detect_runtime)."""
    files: dict[str, str] = {}
    root = src.resolve()
    for name in (*PYTHON_MARKERS, *NODE_MARKERS, *VERSION_FILES, *LOCK_FILES):
        path = (src / name).resolve()  # an in-tree symlink is followed, one leaving is not
        if path.is_file() and path.is_relative_to(root):
            data = path.read_bytes()[:_MAX_READ]
            try:
                files[name] = decode(data, name=name)
            except BuildFailed:
                files[name] = data.decode("utf-8", errors="replace")
    return detect_runtime(files, today=today, requested=requested, defaults=defaults)


def write_dependency_files(
    src: Path,
    detection: Detection,
    dest: Path,
    *,
    architecture: str,
    allowed_indexes: Sequence[str],
    log: Callable[[str], None],
) -> Spec:
    """Write the files the builder needs into `dest`; the text that keys the cache.

    BuildFailed, naming the file, the line and the rule, for anything that leaves the tree or
    reaches a package source outside `allowed_indexes`: raised before any installer runs.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if detection.runtime.language == "node":
        return write_node_spec(src, detection, dest, allowed=allowed_indexes)
    return write_python_spec(
        src, detection, dest, architecture=architecture, allowed=allowed_indexes, log=log
    )
