"""The wheel builder: Lambda's Linux and Python, whatever the build host is, with no Docker.

uv resolves and installs prebuilt wheels for the runtime's manylinux level and Python version
(measured 6 to 10 times faster than `pip install --platform`), never byte-compiling with the
host's interpreter. A dependency published only as an sdist is built on the host and used only
if the result is pure Python; anything that compiled would carry the host's machine code, so it
fails the build naming the package, where the app asks for it, and the fix: its prebuilt
sibling on the index (psycopg2 -> psycopg2-binary) when there is one, or the Docker builder.

The spec folder (`laambda.building.spec`) is self-contained: uv runs inside it (pip's and uv's
local paths are relative to where they run) with `--no-config`, so no uv.toml, pyproject.toml
or user configuration of the build host changes what is installed or from where. In-tree
projects (`./local/...` lines) are built into wheels first, like sdists, and kept only when
pure Python: in-tree projects by `uv build` (its build environments come from uv's cache: 1.8
CPU-s for a small setuptools project, where `pip wheel` took 9.3 installing setuptools again),
sdists from the index by `pip wheel` (uv builds only a folder or an sdist file it is given).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Collection
from pathlib import Path

import httpx
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from laambda.building.builders.base import InstallPlan, Log, run_streaming
from laambda.domain.function import linux_machine
from laambda.domain.runtime import Runtime
from laambda.errors import BuildFailed

_NEEDS_BUILD = re.compile(r"Wheels are required for `([^`]+)`")
_MAX_SDISTS = 10
_LAMBDA_PLATFORMS = ("any", "manylinux")
# an in-tree project line of the spec: (its path, its extras, marker and origin comment)
LOCAL_LINE = re.compile(r"^(\./local/[^\s\[;]+)(.*)$")
_PIP_INDEX_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
                       "PIP_TRUSTED_HOST", "PIP_CONFIG_FILE")  # fmt: skip
_SIBLING_TIMEOUT = 5.0  # seconds for the one index lookup of a prebuilt sibling
# An sdist or in-tree project is built only to be kept if pure Python: compiled code would be
# the build host's and is refused whatever it is. So its build has no C or C++ compiler (the
# names setuptools, meson and CMake take from the environment): one that compiles fails at its
# first file instead of after compiling all of them (psycopg2: 11 CPU-s of gcc, then refused),
# and one whose extension is optional falls back to its pure-Python code.
_NO_COMPILER = {"CC": "false", "CXX": "false"}


class WheelBuilder:
    name = "wheels"

    def install(
        self,
        plan: InstallPlan,
        out: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> None:
        requirements = plan.files / "requirements.txt"
        built = plan.workdir / "sdist-wheels"
        built.mkdir(parents=True, exist_ok=True)
        requirements = self._build_local(
            plan, requirements, built, log=log, cancel=cancel, timeout=timeout
        )
        platform = plan.runtime.wheel_platform(plan.architecture)
        uv_platform = platform.replace("manylinux_", "").split("_", 2)
        target = f"{uv_platform[2]}-manylinux_{uv_platform[0]}_{uv_platform[1]}"
        log(f"-----> Installing wheels for {platform}, Python {plan.runtime.version}")
        env = {"UV_CACHE_DIR": str(plan.cache_dir / "uv"), "NO_COLOR": "1"}
        command = [
            *_without_index_settings(keep=env),
            sys.executable, "-m", "uv", "pip", "install",
            "--no-config",
            "--index-url", _index_of(plan.files / "requirements.txt"),
            "--python", sys.executable,
            "--python-platform", target,
            "--python-version", plan.runtime.version,
            "--only-binary", ":all:",
            "--target", str(out),
            "--find-links", str(built),
            "--no-progress",
            "-r", str(requirements),
        ]  # fmt: skip
        for _ in range(_MAX_SDISTS + 1):
            code, lines = run_streaming(
                command, log=log, cancel=cancel, timeout=timeout, env=env, cwd=plan.files
            )
            if code == 0:
                _refuse_host_binaries(out)
                return
            wanted = _NEEDS_BUILD.search("\n".join(lines))
            if wanted is None:
                raise BuildFailed(
                    "installing the dependencies failed (see the output above): check the "
                    "names and versions in your dependency file"
                )
            spec, where = _requirement_for(wanted[1], requirements.read_text())
            log(f"-----> {wanted[1]} is published only as source: building it into a wheel")
            if not self._wheel(spec, plan, built, log=log, cancel=cancel, timeout=timeout):
                sibling = _binary_sibling(
                    wanted[1], _index_of(requirements), plan.runtime, plan.architecture
                )
                fix = (
                    f"replace it with {sibling}, its prebuilt sibling on the index, or build "
                    if sibling
                    else "build "
                )
                raise BuildFailed(
                    f"{wanted[1]} ({where}) is published only as source code and needs "
                    "compiling, which the wheels builder cannot do for Lambda's Linux: "
                    f"{fix}with the Docker builder (the operator sets LAAMBDA_BUILDER=docker)"
                )
        raise BuildFailed(f"more than {_MAX_SDISTS} dependencies need building from source")

    def _wheel(
        self,
        source: str,
        plan: InstallPlan,
        built: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> list[Path] | None:
        """Build one sdist of the index (`source` is its requirement line) with pip, or one
        in-tree project (`source` is its `./local/...` path) with `uv build`, into `built`,
        inside the spec folder and with its index options; the new wheels, or None unless all
        pure Python."""
        options = index_options((plan.files / "requirements.txt").read_text())
        env = dict(_NO_COMPILER)
        if LOCAL_LINE.match(source):
            env |= {"UV_CACHE_DIR": str(plan.cache_dir / "uv"), "NO_COLOR": "1"}
            command = [
                *_without_index_settings(keep=env),
                sys.executable, "-m", "uv", "build", "--wheel", "--no-config",
                "--python", sys.executable, "--no-python-downloads", "--no-create-gitignore",
                "--out-dir", str(built), *uv_index_arguments(options), source,
            ]  # fmt: skip
        else:
            one = plan.workdir / "build-one.txt"
            one.write_text("".join(f"{ln}\n" for ln in [*options, source]))
            command = [
                *_without_index_settings(),
                sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary",
                ":all:", "--no-cache-dir", "--disable-pip-version-check", "-w", str(built),
                "-r", str(one),
            ]  # fmt: skip
        before = set(built.glob("*.whl"))
        code, _ = run_streaming(
            command, log=log, cancel=cancel, timeout=timeout, env=env, cwd=plan.files
        )
        return _pure_wheels(code, built, before)

    def _build_local(
        self,
        plan: InstallPlan,
        requirements: Path,
        built: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> Path:
        """The requirements to install, in-tree projects replaced by the wheels built from them."""
        lines = requirements.read_text().splitlines()
        if not any(LOCAL_LINE.match(line) for line in lines):
            return requirements
        out = []
        for line in lines:
            match = LOCAL_LINE.match(line)
            if line.startswith("-c "):  # this file is read from the work folder, not the spec's
                out.append(f"-c {plan.files / line[3:].strip()}")
                continue
            if match is None or match[1].endswith(".whl"):
                out.append(line)
                continue
            where = line.rpartition("  # ")[2]
            log(f"-----> Building the project named by {where} into a wheel")
            made = self._wheel(match[1], plan, built, log=log, cancel=cancel, timeout=timeout)
            if made is None:
                raise BuildFailed(
                    f"{where}: this local project did not build into a pure-Python wheel (see "
                    "the output above); one with compiled code needs the Docker builder (the "
                    "operator sets LAAMBDA_BUILDER=docker)"
                )
            out.append(f"{made[0]}{match[2]}")
        install = plan.workdir / "install-requirements.txt"
        install.write_text("".join(f"{ln}\n" for ln in out))
        return install


def index_options(requirements: str) -> list[str]:
    """The option lines of a spec's requirements.txt (index, find-links, flags) that building
    one project or sdist on its own needs, without --only-binary/--no-binary."""
    return [
        ln for ln in requirements.splitlines()
        if ln.startswith("--") and not ln.startswith(("--only-binary", "--no-binary"))
    ]  # fmt: skip


def uv_index_arguments(options: list[str]) -> list[str]:
    """The option lines of `index_options` as `uv build` arguments (it reads no requirements
    file): `--trusted-host H` is uv's `--allow-insecure-host H`, the others are the same."""
    arguments = []
    for line in options:
        name, _, value = line.partition(" ")
        if name == "--trusted-host":
            name = "--allow-insecure-host"
        arguments += [name, value.strip()] if value.strip() else [name]
    return arguments


def _pure_wheels(code: int, built: Path, before: set[Path]) -> list[Path] | None:
    """The wheels a build added to `built` when it succeeded and all are pure Python; else
    None, the wheels it added removed."""
    made = sorted(set(built.glob("*.whl")) - before)
    if code == 0 and made and all(w.name.endswith("-none-any.whl") for w in made):
        return made
    for wheel in made:
        wheel.unlink()
    return None


def _requirement_for(package: str, requirements: str) -> tuple[str, str]:
    """The line of requirements.txt that names `package` (its pin honoured) and its origin."""
    wanted = _normalize(package)
    for line in requirements.splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match and _normalize(match[1]) == wanted:
            spec, _, where = line.partition("  # ")
            return spec.strip(), where or "the app's dependency file"
    return package, "needed by another package the app lists"


def _without_index_settings(keep: Collection[str] = ()) -> list[str]:
    """`env -u ...` for the build host's uv settings and pip's index settings: an index the
    worker's environment names would bypass the checks of LAAMBDA_ALLOWED_INDEXES (uv prefers
    UV_INDEX_URL to a requirements file's --index-url). pip's certificates and proxies stay."""
    names = [
        name
        for name in sorted(os.environ)
        if (name.startswith("UV_") or name in _PIP_INDEX_SETTINGS) and name not in keep
    ]
    return ["env", *(arg for name in names for arg in ("-u", name))]


def _index_of(requirements: Path) -> str:
    for line in requirements.read_text().splitlines():
        if line.startswith("--index-url "):
            return line.split(" ", 1)[1].strip()
    return "https://pypi.org/simple"


def _binary_sibling(package: str, index: str, runtime: Runtime, architecture: str) -> str | None:
    """`<package>-binary` when the index has a wheel of it that runs on the Lambda runtime (one
    bounded request, PEP 691 JSON); None when it has none or the index does not answer in time."""
    sibling = f"{_normalize(package)}-binary"
    try:
        response = httpx.get(
            f"{index.rstrip('/')}/{sibling}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=_SIBLING_TIMEOUT,
            follow_redirects=True,
        )
        files = response.json().get("files", []) if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    supported = _lambda_tags(runtime, architecture)
    for entry in files:
        name = entry.get("filename", "") if isinstance(entry, dict) else ""
        try:
            tags = parse_wheel_filename(name)[3] if name.endswith(".whl") else frozenset()
        except InvalidWheelFilename:
            continue
        if tags & supported:
            return sibling
    return None


def _lambda_tags(runtime: Runtime, architecture: str) -> set[Tag]:
    """The wheel tags Lambda's runtime accepts: its CPython, abi3 and pure wheels, for every
    manylinux level up to the runtime's glibc (PEP 600, with the legacy aliases)."""
    machine = linux_machine(architecture)
    major, minor = (int(p) for p in runtime.version.split("."))
    glibc = int(runtime.glibc.split("_")[1])
    platforms = [f"manylinux_2_{g}_{machine}" for g in range(glibc, 4, -1)]
    platforms += [
        f"{alias}_{machine}"
        for alias, level in (("manylinux2014", 17), ("manylinux2010", 12), ("manylinux1", 5))
        if level <= glibc
    ]
    version = (major, minor)
    return {
        *cpython_tags(version, platforms=platforms),
        *compatible_tags(version, f"cp{major}{minor}", platforms=platforms),
    }


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _refuse_host_binaries(out: Path) -> None:
    """A wheel tagged for a plain host platform (linux_x86_64) must never reach an artifact."""
    for wheel_file in out.glob("*.dist-info/WHEEL"):
        tags = [
            ln.split(":", 1)[1].strip()
            for ln in wheel_file.read_text().splitlines()
            if ln.startswith("Tag:")
        ]
        platforms = {tag.rsplit("-", 1)[-1] for tag in tags}
        if not all(p.startswith(_LAMBDA_PLATFORMS) for p in platforms):
            package = wheel_file.parent.name.split("-")[0]
            raise BuildFailed(
                f"{package} was built for this build host ({', '.join(sorted(platforms))}), "
                "not for Lambda: use the Docker builder (LAAMBDA_BUILDER=docker)"
            )
