"""Which program runs a Lambda runtime on this machine, and how.

Python runtimes run under the machine's CPython of the same minor version (on PATH or under
pyenv), driven by AWS's runtime interface client `awslambdaric` installed once per Python
version into the cache (with uv; afterwards offline). Node.js runtimes run under a `node` of the
same major version with laambda's bootstrap of the Runtime API (bootstrap.js beside this file).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import uv
from packaging.requirements import Requirement

from laambda.domain.runtime import supported
from laambda.errors import LaambdaError
from laambda.local.runtime import sandbox

BOOTSTRAP_JS = Path(__file__).with_name("bootstrap.js")
RIC_REQUIREMENT = "awslambdaric>=3,<5"
PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")  # Lambda's, for the message
_install_lock = threading.Lock()


class RuntimeUnavailable(LaambdaError):
    """The machine lacks the interpreter of a function's runtime."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 502)


@dataclass(frozen=True)
class Launch:
    """The command that starts an environment and variables it needs, with paths as the
    function sees them; when boxed (sandbox.py), what the box must show read-only besides
    the system: `mounts` (host path, path inside), `roots` (interpreters' folders, at their
    own paths) and `relay`, the forwarder to its Runtime API."""

    command: list[str]
    environment: dict[str, str]
    mounts: tuple[sandbox.Mount, ...] = ()
    roots: tuple[Path, ...] = ()
    relay: tuple[str, ...] = ()


def _pyenv_roots() -> list[str]:
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    return [root for root in roots if root]


def find_python(version: str) -> str | None:
    """A CPython `version` ("3.12") executable: laambda's own base interpreter, one on PATH,
    or one installed by pyenv; None when the machine has none."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        base = Path(sys.base_prefix) / "bin" / f"python{version}"
        if base.exists():
            return str(base)
    for root in _pyenv_roots():
        for candidate in sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}")):
            return candidate
    found = shutil.which(f"python{version}")
    if found and "/shims/" not in found:  # pyenv's shims fail for versions not selected
        return found
    return None


def find_node(major: str) -> str | None:
    """A `node` of the given major version on PATH or under nvm; None when there is none."""
    candidates = [shutil.which("node") or ""]
    candidates += sorted(glob.glob(str(Path.home() / f".nvm/versions/node/v{major}.*/bin/node")))
    for candidate in candidates:
        if candidate and _node_major(candidate) == major:
            return candidate
    return None


def _node_major(node: str) -> str | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return out.stdout.strip().lstrip("v").split(".", 1)[0] or None


def newest_runnable(language: str, *, today: date) -> str | None:
    """The newest runtime of `language` ("python", "node") that Lambda accepts today and this
    machine has the interpreter of ("python3.12"), or None. The local cloud's default for apps
    that name no version (issue 13: "the machine's Python when that is a Lambda runtime")."""
    for runtime in supported(language, today=today):
        found = find_python(runtime.version) if language == "python" else find_node(runtime.version)
        if found is not None:
            return runtime.identifier
    return None


def ensure_ric(python: str, version: str, cache: Path) -> Path:
    """The folder holding awslambdaric for Python `version`, made on first use: for laambda's
    own Python version, links to the copy laambda depends on (no network); for others, an
    install with uv (needs the package index once).

    Raises RuntimeUnavailable when it cannot be installed."""
    target = cache / "ric" / f"python{version}"
    if (target / ".complete").exists():
        return target
    with _install_lock:
        if (target / ".complete").exists():
            return target
        staging = target.with_name(target.name + f".{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        if version == f"{sys.version_info.major}.{sys.version_info.minor}" and _link_own(staging):
            (staging / ".complete").touch()
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
            return target
        shutil.rmtree(staging, ignore_errors=True)
        done = subprocess.run(
            [uv.find_uv_bin(), "pip", "install", "--quiet", "--python", python]
            + ["--target", str(staging), RIC_REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeUnavailable(
                f"could not install {RIC_REQUIREMENT} for Python {version} (it runs python"
                f"{version} functions; needed once, then kept in {target}): "
                f"{done.stderr.strip()[-500:]}"
            )
        (staging / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def _link_own(target: Path) -> bool:
    """Link awslambdaric and what it requires, as installed beside laambda, into `target`;
    False when it is not installed here."""
    names = ["awslambdaric"]
    target.mkdir(parents=True)
    while names:
        name = names.pop()
        try:
            found = distribution(name)
        except PackageNotFoundError:
            return False
        names += [Requirement(text).name for text in found.requires or []]
        for top in {Path(str(file)).parts[0] for file in found.files or []}:
            if top != "__pycache__" and not (target / top).exists():
                (target / top).symlink_to(Path(str(found.locate_file(top))))
    return True


def launch(runtime: str, handler: str, task: Path, cache: Path, *, boxed: bool) -> Launch:
    """How to start an execution environment of `runtime` for `handler` with code in `task`:
    `boxed`, seen inside the sandbox (code at /var/task, the runtime client at /var/runtime),
    else at the host's paths.

    Raises RuntimeUnavailable naming the runtime when the machine cannot run it."""
    task_seen = sandbox.TASK_ROOT if boxed else str(task)
    if runtime.startswith("python"):
        version = runtime.removeprefix("python")
        python = find_python(version)
        if python is None:
            has = [v for v in PYTHON_VERSIONS if find_python(v)]
            raise RuntimeUnavailable(
                f"{runtime} is not on this machine (the local cloud runs functions with the "
                f"machine's own interpreters): install Python {version} (e.g. `pyenv install "
                f"{version}`), or name a version it has in the app's .python-version "
                f"({', '.join(has) or 'none found'}) and push again"
            )
        ric = ensure_ric(python, version, cache)
        environment = {"PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1"}
        command = [python, "-m", "awslambdaric", handler]
        if not boxed:
            return Launch(command, {**environment, "PYTHONPATH": f"{task}:{ric}"})
        # each of the client's packages (links into laambda's own environment, or a uv
        # install) by itself, so nothing beside them is seen
        mounts = tuple(
            (entry.resolve(), f"{sandbox.RUNTIME_DIR}/{entry.name}")
            for entry in sorted(ric.iterdir())
            if not entry.name.startswith(".")
        )
        return Launch(
            command,
            {**environment, "PYTHONPATH": f"{task_seen}:{sandbox.RUNTIME_DIR}"},
            mounts,
            _roots(python),
            tuple(sandbox.forwarder(python, "python")),
        )
    if runtime.startswith("nodejs"):
        major = runtime.removeprefix("nodejs").removesuffix(".x")
        node = find_node(major)
        if node is None:
            found = shutil.which("node")
            on_path = f"node {_node_major(found)} is on PATH" if found else "no node is on PATH"
            raise RuntimeUnavailable(
                f"{runtime} is not on this machine (the local cloud runs functions with the "
                f"machine's own interpreters; {on_path}): install Node.js {major}, or name the "
                "version it has in the app's .nvmrc and push again"
            )
        environment = {"NODE_PATH": f"{task_seen}/node_modules"}
        if not boxed:
            return Launch([node, str(BOOTSTRAP_JS)], environment)
        bootstrap = f"{sandbox.RUNTIME_DIR}/{BOOTSTRAP_JS.name}"
        return Launch(
            [node, bootstrap],
            environment,
            ((BOOTSTRAP_JS, bootstrap),),
            _roots(node),
            tuple(sandbox.forwarder(node, "node")),
        )
    raise RuntimeUnavailable(f"the local runtime cannot run {runtime} functions")


def _roots(executable: str) -> tuple[Path, ...]:
    root = sandbox.interpreter_root(executable)
    return (root,) if root is not None else ()
