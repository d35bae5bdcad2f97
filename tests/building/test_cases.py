"""The shared cases c01-c03 (tests/fixtures/apps), built with the wheel builder against the real
package index, as their EXPECT.md says: the right packages for Lambda and nothing else, and the
handler imports from the artifact alone under the interpreter of the runtime."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.building.conftest import Build, BuildFn, tar_of_app, zip_names

pytestmark = pytest.mark.slow

PYENV = Path("/root/.pyenv/versions")


def interpreter(runtime: str) -> Path:
    """The machine's CPython of a runtime's version (python3.12 -> pyenv's 3.12.x)."""
    version = runtime.removeprefix("python")
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} on this machine to import the handler with")
    return found[-1]


def dist_name(info_dir: str) -> str:
    """'charset_normalizer-3.5.3.dist-info' -> 'charset-normalizer'."""
    return info_dir.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-")


def distributions(build: Build) -> set[str]:
    """Canonical names of the distributions installed in the artifact."""
    names = zip_names(build.result.artifact_path)
    return {
        dist_name(n.split("/", 1)[0])
        for n in names
        if n.split("/", 1)[0].endswith(".dist-info") and n.endswith("/METADATA")
    }


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


def run_handler(build: Build, tmp_path: Path, handler: str, event: dict[str, object]) -> object:
    """Call the handler in a fresh interpreter of the runtime's version, with only the unpacked
    artifact on PYTHONPATH (no site-packages)."""
    root = tmp_path / "unpacked"
    with zipfile.ZipFile(build.result.artifact_path) as archive:
        archive.extractall(root)
    module, function = handler.rsplit(".", 1)
    code = (
        "import json, sys\n"
        f"import {module}\n"
        f"assert {module}.__file__.startswith(sys.argv[1]), {module}.__file__\n"
        f"print(json.dumps({module}.{function}(json.loads(sys.argv[2]), None)))"
    )
    env = {"PYTHONPATH": str(root), "PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"}
    out = subprocess.run(
        [str(interpreter(build.result.runtime)), "-S", "-c", code, str(root), json.dumps(event)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


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
