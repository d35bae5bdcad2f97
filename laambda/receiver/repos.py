"""The bare repositories pushes land in, one per app and one per pipeline, each with laambda's
pre-receive hook."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from laambda.services.teardown import pipeline_repository_path, repository_path

HOOK = """#!/bin/sh
# installed by laambda: builds and deploys the pushed commit; its exit code accepts the push
exec {python} -m laambda.receiver.hook
"""


def repository(data_dir: Path, app: str) -> Path:
    """The app's bare repository, made on first use, with the hook (re)installed."""
    return _prepared(repository_path(data_dir, app))


def pipeline_repository(data_dir: Path, pipeline: str) -> Path:
    """The pipeline's bare repository (`ssh://HOST/pipelines/NAME`), made on first use, with
    the same hook as an app's."""
    return _prepared(pipeline_repository_path(data_dir, pipeline))


def _prepared(path: Path) -> Path:
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)], check=True
        )
    hook = path / "hooks" / "pre-receive"
    script = HOOK.format(python=sys.executable)
    if not hook.exists() or hook.read_text() != script:
        # written beside and moved in: a git running meanwhile never finds half a hook
        fresh = hook.with_name(f"pre-receive.{os.getpid()}.{threading.get_ident()}")
        fresh.write_text(script)
        fresh.chmod(0o755)
        os.replace(fresh, hook)
    return path
