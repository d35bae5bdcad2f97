"""The bare repositories pushes land in: made on first use, laambda's hook always in place."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import laambda
from laambda.receiver.repos import repository
from tests.support.imports import modules_loaded


def test_made_bare_on_first_use_with_the_hook(tmp_path: Path) -> None:
    path = repository(tmp_path, "thumbs")
    assert path == tmp_path / "repos" / "thumbs.git"
    bare = subprocess.run(
        ["git", "rev-parse", "--is-bare-repository"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert bare.stdout.strip() == "true"
    hook = path / "hooks" / "pre-receive"
    assert os.access(hook, os.X_OK)
    assert f"exec {sys.executable} -m laambda.receiver.hook" in hook.read_text()


def test_an_outdated_hook_is_replaced_and_the_repository_kept(tmp_path: Path) -> None:
    path = repository(tmp_path, "thumbs")
    (path / "description").write_text("kept\n")
    hook = path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexec python -m receiver.pre_receive\n")
    assert repository(tmp_path, "thumbs") == path
    assert "-m laambda.receiver.hook" in hook.read_text()
    assert (path / "description").read_text() == "kept\n"
    leftovers = [p.name for p in hook.parent.glob("pre-receive.*") if p.suffix != ".sample"]
    assert leftovers == []


def test_the_hook_imports_the_standard_library_only() -> None:
    """The hook starts for every push: it loads no importlib.metadata (laambda's version is
    read only when asked for), and the version is still there."""
    assert modules_loaded("laambda.receiver.hook", "importlib.metadata") == []
    assert laambda.__version__ == importlib.metadata.version("laambda")
