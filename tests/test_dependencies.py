"""Dependencies cannot change under us: uv.lock pins every one, and it matches pyproject.toml.

A new major release of a dependency reaches users only through a commit that changes the
bounds and the lock (`make lock`) and passes these tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _uv_lock_check(project: Path, *, offline: bool = True) -> subprocess.CompletedProcess[str]:
    """`uv lock --check` in `project`. Offline, uv can only confirm a lock that needs no
    resolving: on a machine whose uv cache holds no index pages (a fresh CI machine), a changed
    bound makes it fail "because the network was disabled" instead of saying what is wrong, so
    that check asks the package index."""
    return subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--check", *(["--offline"] if offline else [])],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        listed.extend(extra)
    return [Requirement(text) for text in listed]


@pytest.mark.slow  # a `uv lock` subprocess
def test_the_lock_matches_pyproject() -> None:
    checked = _uv_lock_check(ROOT)
    assert checked.returncode == 0, f"uv.lock is out of date: run `make lock`\n{checked.stderr}"


@pytest.mark.slow  # a `uv lock` subprocess
def test_a_bound_changed_without_locking_is_caught(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    changed = re.sub(r'"rich>=[^"]*"', '"rich>=14.1,<16"', pyproject.read_text(), count=1)
    assert changed != pyproject.read_text()
    pyproject.write_text(changed)
    checked = _uv_lock_check(tmp_path, offline=False)
    assert checked.returncode != 0
    assert "needs to be updated" in checked.stderr


@pytest.mark.parametrize("requirement", _requirements(), ids=lambda r: r.name)
def test_every_dependency_has_a_lower_and_an_upper_bound(requirement: Requirement) -> None:
    operators = {spec.operator for spec in requirement.specifier}
    assert operators & {">=", "~=", "=="}, f"{requirement} has no lower bound"
    assert operators & {"<", "~=", "=="}, f"{requirement}: add `<NEXT_MAJOR`"


def test_the_lock_pins_the_redis_client_major_the_stream_reader_was_tested_with() -> None:
    """laambda/logstream.py sets its timeouts for redis-py 8 (tests/receiver)."""
    packages = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    redis = next(p for p in packages if p["name"] == "redis")
    assert redis["version"].split(".")[0] == "8"
