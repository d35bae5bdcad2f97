"""Every Python dependency flavour becomes one requirements list; lock files are honoured."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from laambda.building.detect import detect, write_dependency_files
from tests.support.build import APPS, BuildFn, tar_of_app, zip_names

TODAY = date(2026, 11, 28)


def requirements(src: Path, tmp_path: Path) -> str:
    """The requirement lines written for the builder, without options or origin comments."""
    detection = detect(src, today=TODAY, requested=None)
    write_dependency_files(
        src,
        detection,
        tmp_path / "spec",
        architecture="x86_64",
        allowed_indexes=["https://pypi.org/simple"],
        log=lambda _: None,
    )
    text = (tmp_path / "spec" / "requirements.txt").read_text()
    return "\n".join(ln.split("  # ")[0] for ln in text.splitlines() if not ln.startswith("-"))


def test_uv_lock_pins_win_over_pyproject_ranges(tmp_path: Path) -> None:
    text = requirements(APPS / "locked", tmp_path)
    assert text.split() == ["six==1.16.0"]  # dev group (docopt) and the project left out


def test_poetry_lock_main_group_only(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["six"]\n')
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "six"\nversion = "1.16.0"\ngroups = ["main"]\n\n'
        '[[package]]\nname = "pytest"\nversion = "8.0.0"\ngroups = ["dev"]\n\n'
        '[[package]]\nname = "idna"\nversion = "3.7"\ncategory = "main"\n'
    )
    assert requirements(tmp_path, tmp_path / "x").split() == ["six==1.16.0", "idna==3.7"]


def test_pipfile_lock_default_packages(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n')
    lock = {"default": {"six": {"version": "==1.16.0"}}, "develop": {"pytest": {}}}
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock))
    assert requirements(tmp_path, tmp_path / "x").split() == ["six==1.16.0"]


def test_pipfile_without_lock(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(
        '[packages]\nsix = "*"\nidna = ">=3"\nattrs = {version = "==23.1"}\n'
    )
    assert requirements(tmp_path, tmp_path / "x").split() == ["six", "idna>=3", "attrs==23.1"]


@pytest.mark.slow
def test_locked_app_builds_with_the_locked_version(build: BuildFn, tmp_path: Path) -> None:
    done = build(tar_of_app("locked", tmp_path / "t.tar"), app_name="locked")
    assert done.lines[0].endswith("found pyproject.toml and uv.lock; version newest supported")
    names = zip_names(done.result.artifact_path)
    assert "six-1.16.0.dist-info/METADATA" in names
    assert not [n for n in names if n.startswith("docopt")]
