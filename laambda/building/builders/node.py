"""The Node.js host builder: npm for Lambda's platform, production dependencies only.

`npm ci` installs exactly the lock file (`npm install` when there is none), with `--omit=dev`
so devDependencies never ship, and with npm's `--os linux --cpu x64|arm64 --libc glibc` so the
optional per-platform packages that carry prebuilt binaries (sharp's @img/sharp-linux-x64, …)
are the ones Lambda's Amazon Linux can load, whatever the build host is (npm's `os`, `cpu` and
`libc` settings, docs.npmjs.com/cli/using-npm/config). npm is pointed at the first npm
registry of LAAMBDA_ALLOWED_INDEXES (`--registry`), never its built-in default. npm links an
in-tree `file:` package into node_modules (`--install-links` packs only packages outside the
project root, npm/cli#4803), and node_modules is moved out of the project into the artifact:
such links are replaced by copies of their folders (`copy_in_tree_links`).

Install scripts are not run (`--ignore-scripts`): a script would run the app's dependencies'
code on the build host, and a native addon it compiles would be built for this host. So every
installed package is checked: a prebuilt `.node` binary must be an ELF shared object for
Lambda's machine and glibc; binaries for other platforms are left out of the artifact; and a
package that must be compiled (a binding.gyp or `gypfile`) without a prebuilt binary for
Lambda is refused by name, pointing at the Docker builder.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from laambda.building.builders.base import InstallPlan, Log, run_streaming
from laambda.config import Settings
from laambda.domain.npm_spec import npm_registry
from laambda.errors import BuildFailed

# Lambda architecture -> npm's cpu (process.arch), and the ELF e_machine of its binaries
NPM_CPU = {"x86_64": "x64", "arm64": "arm64"}
_ELF_MACHINE = {"x86_64": "EM_X86_64", "arm64": "EM_AARCH64"}
_MUSL = ("libc.musl-", "ld-musl-")  # a musl-linked object needs one of these by name


class NodeBuilder:
    name = "npm"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def install(
        self,
        plan: InstallPlan,
        out: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> None:
        """npm ci (or install) into a scratch project, check its binaries, move node_modules."""
        registry = npm_registry(self.settings.allowed_indexes)
        project = plan.workdir / "npm-project"
        shutil.copytree(plan.files, project, dirs_exist_ok=True)
        verb = "ci" if plan.lockfile else "install"
        cpu = NPM_CPU[plan.architecture]
        log(f"-----> Running npm {verb} --omit=dev for linux-{cpu} (glibc)")
        command = [
            "npm", verb, "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund",
            "--registry", registry,
            "--os", "linux", "--cpu", cpu, "--libc", "glibc",
        ]  # fmt: skip
        env = {
            "npm_config_cache": str(plan.cache_dir / "npm"),
            "npm_config_update_notifier": "false",
        }
        code, _ = run_streaming(
            command, log=log, cancel=cancel, timeout=timeout, env=env, cwd=project
        )
        if code != 0:
            raise BuildFailed(
                f"npm {verb} failed (see the output above): check package.json"
                + (
                    " and that the lock file matches it (run `npm install`, commit the lock file)"
                    if plan.lockfile
                    else ""
                )
            )
        modules = project / "node_modules"
        copy_in_tree_links(modules, project)
        packages = native_packages(modules, plan.architecture)
        refused = [p for p in packages if p.needs_compiling]
        if refused:
            raise BuildFailed(
                "these packages must be compiled for Lambda's Linux "
                f"(linux-{cpu}, glibc), and their npm packages hold no prebuilt binary for it: "
                f"{', '.join(p.describe(cpu) for p in refused)}; the npm builder runs no "
                "compiler: use the Docker builder (LAAMBDA_BUILDER=docker) or a "
                "pure-JavaScript alternative"
            )
        foreign = [binary for p in packages for binary in p.foreign]
        for binary in foreign:
            binary.unlink()
        if foreign:
            log(f"       left out {len(foreign)} prebuilt binaries for other platforms")
        if modules.is_dir():
            shutil.move(modules, out / "node_modules")


def copy_in_tree_links(modules: Path, project: Path, _chain: frozenset[Path] = frozenset()) -> None:
    """Replace every package folder under `modules` that is a symbolic link into `project`
    (npm's link to an in-tree `file:` package) by a copy of what it points at, so the
    node_modules folder works wherever it is moved; links inside a copied package are kept
    as links. Links leading elsewhere, or back into a package being copied, stay links.
    """
    root = project.resolve()
    if not modules.is_dir() or modules.is_symlink():
        return
    for entry in sorted(modules.iterdir()):
        if entry.name == ".bin":
            continue
        if entry.name.startswith("@") and entry.is_dir() and not entry.is_symlink():
            copy_in_tree_links(entry, project, _chain)  # a scope's folder holds packages
            continue
        chain = _chain
        if entry.is_symlink():
            target = entry.resolve()
            if not (target.is_dir() and target.is_relative_to(root)) or target in chain:
                continue
            entry.unlink()
            shutil.copytree(target, entry, symlinks=True)
            chain = chain | {target}
        if entry.is_dir():
            copy_in_tree_links(entry / "node_modules", project, chain)


@dataclass
class NativePackage:
    """An installed package with native parts: what it builds from and the binaries it ships."""

    name: str
    path: Path
    gyp: bool  # has a binding.gyp or sets "gypfile": it compiles on install
    usable: list[Path] = field(default_factory=list)  # .node files Lambda can load
    foreign: list[Path] = field(default_factory=list)  # .node files for other platforms

    @property
    def needs_compiling(self) -> bool:
        return not self.usable

    def describe(self, cpu: str) -> str:
        why = "binding.gyp" if self.gyp else f"binaries for other platforms only, none for {cpu}"
        return f"{self.name} ({why})"


def native_packages(modules: Path, architecture: str) -> list[NativePackage]:
    """Every installed package under `modules` that compiles or ships `.node` binaries, by name.

    A `.node` file is usable when it is a 64-bit little-endian ELF object for the
    architecture's machine that is not linked against musl (Lambda's Amazon Linux uses glibc).
    """
    found: list[NativePackage] = []
    for package in _packages(modules):
        try:
            data = json.loads((package / "package.json").read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            continue
        gyp = bool(data.get("gypfile")) or (package / "binding.gyp").is_file()
        binaries = [b for b in sorted(package.rglob("*.node")) if _own(package, b) and b.is_file()]
        if not gyp and not binaries:
            continue
        native = NativePackage(name=data["name"], path=package, gyp=gyp)
        for binary in binaries:
            (native.usable if loads_on_lambda(binary, architecture) else native.foreign).append(
                binary
            )
        found.append(native)
    return found


def loads_on_lambda(binary: Path, architecture: str) -> bool:
    """Whether a native addon is an ELF shared object Lambda's glibc Linux can load: 64-bit,
    little-endian, for the architecture's machine, and needing no musl library by name."""
    try:
        with open(binary, "rb") as stream:
            elf = ELFFile(stream)
            if elf.elfclass != 64 or not elf.little_endian:
                return False
            if elf["e_machine"] != _ELF_MACHINE[architecture] or elf["e_type"] != "ET_DYN":
                return False
            needed = [
                str(getattr(tag, "needed", ""))  # set by pyelftools for DT_NEEDED
                for section in elf.iter_sections()
                if isinstance(section, DynamicSection)
                for tag in section.iter_tags("DT_NEEDED")
            ]
    except (ELFError, OSError, ValueError):
        return False  # not ELF (a Mach-O or PE binary of another platform) or damaged
    return not any(name.startswith(_MUSL) for name in needed)


def _packages(modules: Path) -> list[Path]:
    """Package folders under a node_modules folder, nested node_modules included."""
    if not modules.is_dir() or modules.is_symlink():
        return []
    found: list[Path] = []
    for entry in sorted(modules.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink() or not entry.is_dir():
            continue
        scoped = sorted(entry.iterdir()) if entry.name.startswith("@") else [entry]
        for package in scoped:
            if package.is_dir() and not package.is_symlink():
                found.append(package)
                found += _packages(package / "node_modules")
    return found


def _own(package: Path, binary: Path) -> bool:
    """Whether a file belongs to the package itself, not to a package nested under it."""
    return "node_modules" not in binary.relative_to(package).parts
