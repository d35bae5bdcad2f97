"""The shared cases c01-c03 (tests/fixtures/apps), built with the wheel builder against the real
package index, as their EXPECT.md says: the right packages for Lambda and nothing else, and the
handler imports from the artifact alone under the interpreter of the runtime."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.support.build import (
    Build,
    BuildFn,
    dist_name,
    distributions,
    run_handler,
    tar_of_app,
    zip_names,
)

pytestmark = pytest.mark.slow


def wheel_tags(build: Build) -> dict[str, list[str]]:
    """distribution -> its wheel's tags, read from the artifact."""
    tags = {}
    with zipfile.ZipFile(build.result.artifact_path) as archive:
        for name in archive.namelist():
            if name.endswith(".dist-info/WHEEL"):
                text = archive.read(name).decode()
                dist = dist_name(name.split("/", 1)[0])
                tags[dist] = [
                    ln.split(": ", 1)[1] for ln in text.splitlines() if ln.startswith("Tag:")
                ]
    return tags


def test_c01_requirements_include_installs_the_included_file_only(
    build: BuildFn, tmp_path: Path
) -> None:
    done = build(tar_of_app("c01-requirements-r-include", tmp_path / "t.tar"), app_name="report")
    assert done.result.runtime == "python3.12"
    assert done.result.procfile == {"report": "report.handler"}
    assert distributions(done) == {"attrs", "humanize"}  # not pytest: only the dev file names it
    assert {"report.py", "attrs/__init__.py", "humanize/__init__.py"} <= set(
        zip_names(done.result.artifact_path)
    )
    assert all(t == ["py3-none-any"] for t in wheel_tags(done).values())
    assert run_handler(done, tmp_path, "report.handler", {"size": 2048}) == {"size": "2.0 kB"}


def test_c02_pipfile_lock_markers_are_evaluated_for_lambda(build: BuildFn, tmp_path: Path) -> None:
    done = build(
        tar_of_app("c02-pipfile-lock-windows-marker", tmp_path / "t.tar"), app_name="fetcher"
    )
    assert done.result.runtime == "python3.12"
    assert "version from Pipfile [requires]" in done.lines[0]
    assert distributions(done) == {"requests", "certifi", "charset-normalizer", "idna", "urllib3"}
    assert any(
        'Pipfile.lock "default" pywin32: pywin32 left out: its marker "sys_platform == \'win32\'"'
        in line
        or "pywin32 left out" in line
        for line in done.lines
    )
    tags = wheel_tags(done)
    assert tags["charset-normalizer"]
    assert all(
        t.startswith("cp312-cp312-manylinux") and t.endswith("_x86_64")
        for t in tags["charset-normalizer"]
    )
    assert tags["requests"] == ["py3-none-any"]
    answer = run_handler(done, tmp_path, "fetcher.handler", {})
    assert answer == {"requests": "2.34.2"}


def test_c02_on_arm64_gets_aarch64_wheels(build: BuildFn, tmp_path: Path) -> None:
    done = build(
        tar_of_app("c02-pipfile-lock-windows-marker", tmp_path / "t.tar"),
        app_name="fetcher",
        architecture="arm64",
    )
    tags = wheel_tags(done)["charset-normalizer"]
    assert tags
    assert all(t.endswith("_aarch64") for t in tags)
    assert "pywin32" not in distributions(done)


def test_c03_utf16_requirements_are_read_as_pip_reads_them(build: BuildFn, tmp_path: Path) -> None:
    done = build(tar_of_app("c03-utf16-requirements", tmp_path / "t.tar"), app_name="sizes")
    assert done.result.runtime == "python3.12"
    assert distributions(done) == {"humanize"}
    assert "humanize-4.9.0.dist-info/METADATA" in zip_names(done.result.artifact_path)
    assert run_handler(done, tmp_path, "sizes.handler", {"bytes": 123456789}) == {
        "size": "123.5 MB"
    }
