"""The dependency step of a build: take the zipped tree from the cache, or install and cache it.

A warm build (same runtime, architecture, builder and dependency list) runs no installer at all:
it copies the cached zip's compressed entries straight into the artifact.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from laambda.building.artifact import tree_entries, write_zip
from laambda.building.builders.base import Builder, InstallPlan
from laambda.building.builders.node import NodeBuilder
from laambda.building.builders.wheels import WheelBuilder
from laambda.building.cache import DependencyCache, cache_key
from laambda.building.detect import write_dependency_files
from laambda.building.normalise import normalise_tree
from laambda.config import Settings
from laambda.domain.runtime import Detection
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore


def choose_builder(settings: Settings, language: str) -> Builder:
    """The builder the settings name: an engine over the Docker API, or the host's installers."""
    if settings.builder == "docker":
        # imported only then: the Docker SDK is 0.15 CPU-s of a worker's start
        from laambda.building.builders.docker import DockerBuilder

        return DockerBuilder(settings)
    return NodeBuilder(settings) if language == "node" else WheelBuilder()


def install(
    src: Path,
    detection: Detection,
    *,
    app_name: str,
    architecture: str,
    workdir: Path,
    settings: Settings,
    store: ObjectStore | None,
    log: Callable[[str], None],
    cancel: threading.Event | None,
    deadline: float,
) -> Path | None:
    """The zip of the app's installed dependencies, or None when it declares none."""
    spec_dir = workdir / "dependency-files"
    shutil.rmtree(spec_dir, ignore_errors=True)
    spec = write_dependency_files(
        src,
        detection,
        spec_dir,
        architecture=architecture,
        allowed_indexes=settings.allowed_indexes,
        log=log,
    )
    language = detection.runtime.language
    if not spec.declares_any:
        log(f"-----> No dependencies declared in {detection.manifest}")
        return None
    builder = choose_builder(settings, language)
    key = cache_key(
        runtime=detection.runtime.identifier,
        architecture=architecture,
        builder=_identity(builder, settings, detection.runtime.identifier),
        dependencies=spec.key_text,
    )
    cache = DependencyCache(settings, store, app_name, log)
    hit = cache.fetch(key)
    if hit is not None:
        path, meta = hit
        count = int(str(meta.get("packages", 0)))
        log(f"-----> Installing {detection.manifest} (cached: {_packages(count)})")
        return path
    log(f"-----> Installing {detection.manifest} with the {builder.name} builder")
    out = workdir / "dependencies"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    plan = InstallPlan(
        runtime=detection.runtime,
        architecture=architecture,
        files=spec_dir,
        lockfile=detection.lockfile,
        workdir=workdir,
        cache_dir=settings.data_dir / "download-cache",
        cache_scope=app_name,
    )
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BuildFailed(f"build timed out after {settings.build_timeout} s")
    builder.install(plan, out, log=log, cancel=cancel, timeout=remaining)
    deps_zip = workdir / "dependencies.zip"
    normalise_tree(out)  # no host path or installer dropping: same deps, same bytes
    write_zip(tree_entries(out), deps_zip)
    packages = _count_packages(out, language)
    cache.save(key, deps_zip, packages=packages)
    log(f"-----> Installed {_packages(packages)}")
    return deps_zip


def _identity(builder: Builder, settings: Settings, runtime: str) -> str:
    """What besides the dependency list decides the installed tree: the builder and its image."""
    if builder.name == "docker":
        return f"docker {settings.build_image(runtime)}"
    return builder.name


def _packages(count: int) -> str:
    return f"{count} package" + ("" if count == 1 else "s")


def _count_packages(out: Path, language: str) -> int:
    if language == "node":
        modules = out / "node_modules"
        return (
            sum(
                1 if not d.name.startswith("@") else len(list(d.iterdir()))
                for d in modules.iterdir()
                if d.is_dir() and not d.name.startswith(".")
            )
            if modules.is_dir()
            else 0
        )
    return len(list(out.glob("*.dist-info")))
