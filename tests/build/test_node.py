"""Node.js apps: npm with production dependencies only, native addons refused by name."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from laambda.errors import BuildFailed
from tests.build.conftest import BuildFn, tar_of, tar_of_app, zip_names

pytestmark = pytest.mark.slow


def test_app_with_one_dependency(build: BuildFn, tmp_path: Path) -> None:
    tarball = tar_of_app("greeter", tmp_path / "greeter.tar")
    done = build(tarball, app_name="greeter")
    assert done.lines[0] == (
        "-----> Node.js app detected (nodejs22.x, x86_64): found package.json and "
        "package-lock.json; version from engines.node in package.json"
    )
    assert done.result.procfile == {"greet": "index.handler"}
    names = zip_names(done.result.artifact_path)
    assert {"index.js", "node_modules/is-number/index.js"} <= set(names)
    assert not [n for n in names if n.startswith("node_modules/is-odd/")]  # dev dependency

    root = tmp_path / "unpacked"
    with zipfile.ZipFile(done.result.artifact_path) as archive:
        archive.extractall(root)
    script = "require('./index.js').handler({name: '42'}).then(r => console.log(JSON.stringify(r)))"
    out = subprocess.run(
        ["node", "-e", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {"greeting": "hello 42", "numeric": True}

    again = build(tarball, app_name="greeter")
    assert again.result.sha256 == done.result.sha256
    assert "-----> Installing package.json (cached: 1 package)" in again.lines
    assert not [line for line in again.lines if "npm ci" in line]


def test_native_addons_are_refused_by_name(build: BuildFn, tmp_path: Path) -> None:
    package = {"name": "ws-app", "dependencies": {"bufferutil": "4.0.8"}}
    files = {"package.json": json.dumps(package), "Procfile": "a: index.handler", "index.js": ""}
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"), app_name="ws")
    assert info.value.message.startswith("these packages carry native addons")
    assert "bufferutil" in info.value.message
    assert "LAAMBDA_BUILDER=docker" in info.value.message


def test_missing_handler_file_names_the_extensions(build: BuildFn, tmp_path: Path) -> None:
    files = {"package.json": "{}", "Procfile": "api: src/app.handler"}
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"), app_name="web")
    assert "needs src/app.js or src/app.mjs or src/app.cjs" in info.value.message
