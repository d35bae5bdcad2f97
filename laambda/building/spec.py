"""The spec folder a builder installs from: dependency files read as their tools read them.

Every Python flavour (requirements.txt with its includes, Pipfile/Pipfile.lock, pyproject.toml
alone or with poetry.lock or uv.lock) becomes one checked `requirements.txt` (plus
`constraints.txt`), and every in-tree project it installs is copied beside it under `local/`,
so each builder works from this one folder, from inside it, and never sees the rest of the
tree. Node.js gets package.json, its lock file and the in-tree folders they name, at the same
relative paths. The returned key text covers all of it, local projects' content included.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from laambda.domain.dependency_set import DependencySet, Include
from laambda.domain.manifests import manifest_lines
from laambda.domain.npm_spec import npm_local_paths
from laambda.domain.requirements import decode, parse_line
from laambda.domain.runtime import Detection
from laambda.errors import BuildFailed

MAX_READ = 4 * 1024 * 1024
LOCAL = "local"


@dataclass(frozen=True)
class Spec:
    """What was written: the text that decides the installed tree, and whether it is empty."""

    key_text: str
    declares_any: bool


def read_tree_file(src: Path, relative: str, *, where: str) -> bytes:
    """The bytes of a file inside the tree; BuildFailed (never its content) when it is not."""
    path = src / relative
    resolved = path.resolve()
    if not resolved.is_relative_to(src.resolve()):
        raise BuildFailed(
            f"{where}: {relative} is a symbolic link that leaves the repository; dependency "
            "files may name only files inside it"
        )
    if not resolved.is_file():
        raise BuildFailed(f"{where}: {relative} is not a file in the repository: commit it")
    if resolved.stat().st_size > MAX_READ:
        raise BuildFailed(f"{where}: {relative} is over {MAX_READ // 1024 // 1024} MB")
    return resolved.read_bytes()


def write_python_spec(
    src: Path,
    detection: Detection,
    dest: Path,
    *,
    architecture: str,
    allowed: Sequence[str],
    log: Callable[[str], None],
) -> Spec:
    """Read the app's Python dependency files into `dest`; BuildFailed before anything runs."""
    deps = DependencySet(detection.runtime.version, architecture, allowed)
    manifest, lockfile = detection.manifest, detection.lockfile
    if manifest == "requirements.txt":
        _read_requirements(src, deps)
    else:
        for text, where in _manifest_lines(src, manifest, lockfile):
            deps.add_line(parse_line(text, where=where))
    for line in deps.skipped:
        log(f"       {line}")
    placed = _copy_local(src, deps.local_paths(), dest / LOCAL)
    requirements, constraints = deps.render(placed, default_index=allowed[0] if allowed else "")
    (dest / "requirements.txt").write_text(requirements)
    if constraints:
        (dest / "constraints.txt").write_text(constraints)
    return Spec(
        key_text=requirements + constraints + _tree_digest(dest / LOCAL),
        declares_any=deps.declares_any,
    )


def _read_requirements(src: Path, deps: DependencySet) -> None:
    pending = [Include("requirements.txt", False, "the app", ())]
    while pending:
        include = pending.pop(0)
        data = read_tree_file(src, include.path, where=include.where)
        text = decode(data, name=include.path)
        pending += deps.add_file(
            text, name=include.path, constraint=include.constraint, chain=include.chain
        )


def _text(src: Path, name: str) -> str:
    return decode(read_tree_file(src, name, where="the app"), name=name)


def _manifest_lines(src: Path, manifest: str, lockfile: str | None) -> list[tuple[str, str]]:
    if lockfile == "uv.lock":
        return _uv_export(src)
    if lockfile == "poetry.lock":
        name = "poetry.lock"
    elif manifest == "Pipfile.lock" or lockfile == "Pipfile.lock":
        name = "Pipfile.lock"
    else:
        name = manifest  # pyproject.toml or Pipfile
    return manifest_lines(name, _text(src, name))


def _uv_export(src: Path) -> list[tuple[str, str]]:
    """uv.lock's pinned set for production: no dependency group (dev or any default one), no
    optional extra, not the project itself; its indexes emitted so they are checked too."""
    command = [
        sys.executable, "-m", "uv", "export", "--frozen", "--offline", "--no-config",
        "--no-default-groups", "--no-hashes", "--no-emit-project", "--no-editable",
        "--emit-index-url", "--no-header", "--no-annotate", "--format", "requirements.txt",
    ]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(src), "UV_NO_CACHE": "1",
           "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}  # fmt: skip
    result = subprocess.run(
        command, cwd=src, capture_output=True, text=True, check=False, env=env, timeout=120
    )
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1:] or ["no reason given"]
        raise BuildFailed(f"uv.lock cannot be read ({reason[0]}): run `uv lock` and commit it")
    from_lock = "uv.lock (exported by uv)"
    return [(text, f"{from_lock} line {n}") for n, text in _lines(result.stdout)]


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]


def _copy_local(src: Path, paths: dict[str, str], dest: Path) -> dict[str, str]:
    """Copy each in-tree project, archive or folder (tree path -> the line naming it) into
    `dest`; tree path -> its place relative to the spec folder."""
    placed: dict[str, str] = {}
    root = src.resolve()
    for number, (relative, where) in enumerate(paths.items()):
        source = (src / relative).resolve()
        if not source.is_relative_to(root):
            raise BuildFailed(
                f"{where}: {relative} is a symbolic link that leaves the repository; dependency "
                "files may name only what is inside it"
            )
        if not source.exists():
            raise BuildFailed(f"{where}: {relative} is not in the repository: commit it or fix it")
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(relative).name) or "project"
        target = dest / f"{number}-{label if relative != '.' else 'project'}"
        if source.is_dir():
            _check_links(source, root)
            shutil.copytree(source, target, symlinks=False)
            placed[relative] = f"./{LOCAL}/{target.name}"
        else:
            target.mkdir(parents=True)
            shutil.copyfile(source, target / source.name)
            placed[relative] = f"./{LOCAL}/{target.name}/{source.name}"
    return placed


def _check_links(folder: Path, root: Path) -> None:
    """Every symlink under `folder` stays in the tree and is no loop, so copying terminates."""
    for directory, names, files in os.walk(folder):
        for name in [*names, *files]:
            path = Path(directory) / name
            if not path.is_symlink():
                continue
            target = path.resolve()
            if not target.is_relative_to(root):
                raise BuildFailed(
                    f"{path.relative_to(root)} is a symbolic link that leaves the repository"
                )
            if path.parent.resolve().is_relative_to(target):
                raise BuildFailed(f"{path.relative_to(root)} is a symbolic link loop: remove it")


def _tree_digest(folder: Path) -> str:
    """A line per copied file, path and sha256, so the cache key follows local projects."""
    if not folder.is_dir():
        return ""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{path.relative_to(folder).as_posix()} {digest}\n")
    return "".join(lines)


def write_node_spec(src: Path, detection: Detection, dest: Path, *, allowed: Sequence[str]) -> Spec:
    """package.json, its lock file and the in-tree packages they name, at the same paths."""
    names = ["package.json"] + ([detection.lockfile] if detection.lockfile else [])
    texts = {name: _text(src, name) for name in names}
    lock = texts.get(detection.lockfile) if detection.lockfile else None
    paths = npm_local_paths(
        texts["package.json"], lock, lock_name=detection.lockfile, allowed=allowed
    )
    for name, text in texts.items():
        (dest / name).write_text(text)
    root = src.resolve()
    for relative in paths:
        source = (src / relative).resolve()
        if not source.is_relative_to(root):
            raise BuildFailed(f"{relative} is a symbolic link that leaves the repository")
        if source.is_dir():
            _check_links(source, root)
            shutil.copytree(source, dest / relative, symlinks=False, dirs_exist_ok=True)
        elif source.is_file():
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / relative)
    key = "".join(f"{name}\n{text}" for name, text in texts.items())
    return Spec(
        key_text=key + _tree_digest(dest) if paths else key,
        declares_any='"dependencies"' in texts["package.json"] or bool(lock),
    )
