"""A pushed source tarball in, one deterministic Lambda artifact out.

unpack -> detect the runtime -> read the Procfile and check every handler's file -> install the
dependencies (or take them from the cache) -> zip code and dependencies deterministically. All
checks on the user's input come before anything slow, so a bad push fails in a second.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from laambda.building import dependencies
from laambda.building.artifact import tree_entries, write_zip, zip_entries
from laambda.building.detect import detect
from laambda.building.unpack import unpack_source
from laambda.config import Settings
from laambda.domain.function import ARCHITECTURES, DEFAULT_ARCHITECTURE
from laambda.domain.limits import MB, check_artifact, top_level
from laambda.domain.procfile import NO_PROCFILE, check_handlers, parse_procfile
from laambda.domain.requirements import decode
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore

_LANGUAGE = {"python": "Python", "node": "Node.js"}


@dataclass(frozen=True)
class BuildResult:
    artifact_path: Path  # the deterministic zip
    sha256: str  # hex
    size: int  # bytes of the zip
    runtime: str  # Lambda identifier, e.g. "python3.12"
    architecture: str  # "x86_64" | "arm64"
    procfile: dict[str, str]  # entry name -> handler "module.function", in Procfile order


def build_source(
    tarball: Path,
    *,
    app_name: str,
    workdir: Path,
    settings: Settings,
    store: ObjectStore | None,
    log: Callable[[str], None],
    architecture: str = DEFAULT_ARCHITECTURE,
    runtime: str | None = None,
    cancel: threading.Event | None = None,
    today: date | None = None,
) -> BuildResult:
    """Build the app's artifact in `workdir`; BuildFailed says what was wrong and how to fix it.

    `log` gets each line as it happens; setting `cancel` stops the build ("build cancelled").
    `today` decides runtime deprecation and is only given by tests.
    """
    deadline = time.monotonic() + settings.build_timeout
    if architecture not in ARCHITECTURES:
        raise BuildFailed(f"architecture '{architecture}' is not one of {', '.join(ARCHITECTURES)}")
    src = workdir / "source"
    shutil.rmtree(src, ignore_errors=True)  # a retried build starts from the tarball alone
    unpack_source(
        tarball,
        src,
        max_source_bytes=settings.max_source_bytes,
        max_unpacked_bytes=settings.max_unpacked_bytes,
        log=log,
    )
    _check(cancel)
    defaults = {
        language: identifier
        for language, identifier in (
            ("python", settings.default_python_runtime),
            ("node", settings.default_node_runtime),
        )
        if identifier
    }
    detection = detect(
        src, today=today or datetime.now(UTC).date(), requested=runtime, defaults=defaults
    )
    language = detection.runtime.language
    log(
        f"-----> {_LANGUAGE[language]} app detected ({detection.runtime.identifier}, "
        f"{architecture}): {detection.reason}; version {detection.version_reason}"
    )
    for warning in detection.warnings:
        log(f" !     {warning}")
    procfile_path = src / "Procfile"
    if not procfile_path.is_file():
        raise BuildFailed(NO_PROCFILE)
    procfile = parse_procfile(
        decode(procfile_path.read_bytes(), name="Procfile"), app_name=app_name, language=language
    )
    files = {p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()}
    check_handlers(procfile, files, language=language)
    log(f"-----> Procfile declares {procfile.declared()}")
    deps_zip = dependencies.install(
        src,
        detection,
        app_name=app_name,
        architecture=architecture,
        workdir=workdir,
        settings=settings,
        store=store,
        log=log,
        cancel=cancel,
        deadline=deadline,
    )
    _check(cancel)
    skip = {"node_modules"} if language == "node" else set()
    entries = [e for e in tree_entries(src) if e.name.split("/", 1)[0] not in skip]
    if deps_zip is not None:
        entries += zip_entries(deps_zip)
    artifact = workdir / "artifact.zip"
    sha256, size, unzipped = write_zip(entries, artifact)
    sizes: Counter[str] = Counter()
    for entry in entries:
        sizes[top_level(entry.name)] += entry.size
    check_artifact(unzipped, len({e.name for e in entries}), sizes=sizes)
    log(f"-----> Built artifact sha256:{sha256[:12]}… ({size / MB:.1f} MB)")
    return BuildResult(
        artifact_path=artifact,
        sha256=sha256,
        size=size,
        runtime=detection.runtime.identifier,
        architecture=architecture,
        procfile=procfile.as_dict(),
    )


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise BuildFailed("build cancelled")
