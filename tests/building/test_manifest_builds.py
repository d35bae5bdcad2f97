"""Markers reach the installer for Lambda's platform, and Poetry projects ship their main group
only: real builds with the wheel builder against the package index."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.archives import tar_of
from tests.support.build import BuildFn, distributions, zip_names
from tests.support.indexes import listener  # noqa: F401

pytestmark = pytest.mark.slow

APP = {"Procfile": "web: app.handler\n", "app.py": "def handler(e, c):\n    return 1\n"}


@pytest.mark.parametrize(("architecture", "expected"), [("x86_64", set()), ("arm64", {"six"})])
def test_platform_markers_follow_the_functions_architecture(
    build: BuildFn, tmp_path: Path, architecture: str, expected: set[str]
) -> None:
    # the build host is x86_64: six arrives only when the marker is read for Lambda's arm64
    files = {**APP, "requirements.txt": "attrs\nsix ; platform_machine == 'aarch64'\n"}
    done = build(tar_of(files, tmp_path / "t.tar"), architecture=architecture)
    assert distributions(done) == {"attrs", *expected}


def test_poetry_lock_ships_the_main_group_only(build: BuildFn, tmp_path: Path) -> None:
    lock = (
        '[[package]]\nname = "six"\nversion = "1.16.0"\noptional = false\n'
        'python-versions = "*"\ngroups = ["main"]\n\n'
        '[[package]]\nname = "attrs"\nversion = "23.2.0"\noptional = false\n'
        'python-versions = "*"\ncategory = "main"\n\n'
        '[[package]]\nname = "iniconfig"\nversion = "2.0.0"\noptional = false\n'
        'python-versions = "*"\ngroups = ["dev"]\n\n'
        '[[package]]\nname = "colorama"\nversion = "0.4.6"\noptional = false\n'
        'python-versions = "*"\ngroups = ["main"]\nmarkers = "sys_platform == \\"win32\\""\n\n'
        '[metadata]\nlock-version = "2.0"\npython-versions = "^3.12"\ncontent-hash = "x"\n'
    )
    pyproject = (
        '[tool.poetry]\nname = "app"\nversion = "1"\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nsix = "^1.16"\nattrs = "*"\n'
        'colorama = {version = "*", markers = "sys_platform == \'win32\'"}\n'
        '[tool.poetry.group.dev.dependencies]\niniconfig = "*"\n'
    )
    files = {**APP, "pyproject.toml": pyproject, "poetry.lock": lock, ".python-version": "3.12"}
    done = build(tar_of(files, tmp_path / "t.tar"))
    assert distributions(done) == {"six", "attrs"}
    assert "six-1.16.0.dist-info/METADATA" in zip_names(done.result.artifact_path)


def test_poetry_1_project_without_a_lock(build: BuildFn, tmp_path: Path) -> None:
    pyproject = (
        '[tool.poetry]\nname = "app"\nversion = "1"\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nsix = "~1.16"\n'
        '[tool.poetry.dev-dependencies]\niniconfig = "*"\n'
    )
    files = {**APP, "pyproject.toml": pyproject, ".python-version": "3.12"}
    done = build(tar_of(files, tmp_path / "t.tar"))
    assert distributions(done) == {"six"}


def test_index_settings_of_the_worker_environment_are_not_used(
    build: BuildFn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listener: tuple[str, list[bytes]],  # noqa: F811
) -> None:
    url, received = listener
    for name in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.setenv(name, f"{url}/simple")
    files = {**APP, "requirements.txt": "six==1.16.0\ndocopt==0.6.2\n"}  # docopt: an sdist
    done = build(tar_of(files, tmp_path / "t.tar"))
    assert distributions(done) == {"six", "docopt"}
    assert received == []
