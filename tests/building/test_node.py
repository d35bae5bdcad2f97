"""Node.js apps: npm for Lambda's platform, production dependencies only, binaries checked."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from laambda.building.builders.node import loads_on_lambda, native_packages
from laambda.building.pipeline import build_source
from laambda.config import Settings
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore
from tests.support.archives import tar_of
from tests.support.build import BuildFn, make_build, tar_of_app, zip_names
from tests.support.node import SHARED_APP, require_from_artifact

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


def test_a_package_that_must_compile_is_refused_by_name(build: BuildFn, tmp_path: Path) -> None:
    """heapdump has a binding.gyp and publishes no prebuilt binary: only a compiler makes it."""
    package = {"name": "dump-app", "dependencies": {"heapdump": "0.3.15"}}
    files = {"package.json": json.dumps(package), "Procfile": "a: index.handler", "index.js": ""}
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"), app_name="dump")
    assert info.value.message == (
        "these packages must be compiled for Lambda's Linux (linux-x64, glibc), and their npm "
        "packages hold no prebuilt binary for it: heapdump (binding.gyp); the npm builder runs "
        "no compiler: use "
        "the Docker builder (LAAMBDA_BUILDER=docker) or a pure-JavaScript alternative"
    )


def test_prebuilt_binaries_are_kept_for_lambdas_machine_only(
    build: BuildFn, tmp_path: Path
) -> None:
    """bufferutil ships prebuilds for linux-x64, darwin and win32 beside its binding.gyp."""
    package = {"name": "ws-app", "dependencies": {"bufferutil": "4.0.8"}}
    files = {"package.json": json.dumps(package), "Procfile": "a: index.handler", "index.js": ""}
    done = build(tar_of(files, tmp_path / "t.tar"), app_name="ws")
    assert "-----> Running npm install --omit=dev for linux-x64 (glibc)" in done.lines
    assert "       left out 3 prebuilt binaries for other platforms" in done.lines
    binaries = [n for n in zip_names(done.result.artifact_path) if n.endswith(".node")]
    assert binaries == ["node_modules/bufferutil/prebuilds/linux-x64/node.napi.node"]

    with pytest.raises(BuildFailed) as info:  # no linux-arm64 prebuild: it must be compiled
        build(tar_of(files, tmp_path / "t.tar"), app_name="ws", architecture="arm64")
    assert "(linux-arm64, glibc)" in info.value.message
    assert "bufferutil (binding.gyp)" in info.value.message


SHARP_X64 = {
    "@img/colour",
    "@img/sharp-libvips-linux-x64",
    "@img/sharp-linux-x64",
    "detect-libc",
    "semver",
    "sharp",
}


def _packages(names: list[str]) -> set[str]:
    found = set()
    for name in names:
        parts = name.split("/")
        if parts[0] == "node_modules" and len(parts) > 2 and not parts[1].startswith("."):
            found.add("/".join(parts[1:3]) if parts[1].startswith("@") else parts[1])
    return found


def test_sharp_ships_its_linux_glibc_binaries_and_loads(build: BuildFn, tmp_path: Path) -> None:
    """Case c05: sharp's native code comes as per-platform optional packages."""
    tarball = tar_of_app("c05-node-sharp-native-addon", tmp_path / "c05.tar")
    done = build(tarball, app_name="thumbnails")
    assert "-----> Running npm ci --omit=dev for linux-x64 (glibc)" in done.lines
    assert done.result.procfile == {"resize": "resize.handler"}
    names = zip_names(done.result.artifact_path)
    assert _packages(names) == SHARP_X64  # no darwin, musl, arm64, wasm or win32 package
    assert "node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node" in names
    assert "node_modules/.package-lock.json" not in names

    root = tmp_path / "artifact"
    with zipfile.ZipFile(done.result.artifact_path) as archive:
        archive.extractall(root)
    script = (
        "require('resize').handler({width: 16}).then(r => console.log(JSON.stringify({...r, "
        "loaded: Object.keys(require.cache).filter(k => k.endsWith('.node'))})))"
    )
    out = subprocess.run(
        ["node", "-e", script],
        cwd=tmp_path,
        env={"NODE_PATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(out.stdout)
    assert answer["bytes"] > 50  # a real PNG, made by libvips
    assert answer["loaded"] == [
        str(root / "node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node")
    ]

    arm = build(tarball, app_name="thumbnails", architecture="arm64")
    arm_names = zip_names(arm.result.artifact_path)
    assert _packages(arm_names) == {p.replace("x64", "arm64") for p in SHARP_X64}
    assert "node_modules/@img/sharp-linux-arm64/lib/sharp-linux-arm64.node" in arm_names


def test_missing_handler_file_names_the_extensions(build: BuildFn, tmp_path: Path) -> None:
    files = {"package.json": "{}", "Procfile": "api: src/app.handler"}
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"), app_name="web")
    assert "needs src/app.js or src/app.mjs or src/app.cjs" in info.value.message


def _npm_install(where: Path, package: str, *, libc: str) -> Path:
    """One package as it is published (--force: npm checks a named package against the host)."""
    where.mkdir()
    subprocess.run(
        ["npm", "install", "--no-save", "--ignore-scripts", "--omit=optional", "--no-audit",
         "--no-fund", "--force", "--os", "linux", "--cpu", "x64", "--libc", libc, package],
        cwd=where, capture_output=True, check=True,
    )  # fmt: skip
    return where / "node_modules"


def test_binaries_are_checked_for_machine_and_libc(tmp_path: Path) -> None:
    glibc = _npm_install(tmp_path / "glibc", "@img/sharp-linux-x64@0.34.5", libc="glibc")
    musl = _npm_install(tmp_path / "musl", "@img/sharp-linuxmusl-x64@0.34.5", libc="musl")
    glibc_binary = glibc / "@img/sharp-linux-x64/lib/sharp-linux-x64.node"
    musl_binary = musl / "@img/sharp-linuxmusl-x64/lib/sharp-linuxmusl-x64.node"
    assert loads_on_lambda(glibc_binary, "x86_64")
    assert not loads_on_lambda(glibc_binary, "arm64")
    assert not loads_on_lambda(musl_binary, "x86_64")  # Amazon Linux has glibc, not musl
    (tmp_path / "text.node").write_text("not a binary")
    assert not loads_on_lambda(tmp_path / "text.node", "x86_64")

    [package] = native_packages(musl, "x86_64")
    assert (package.name, package.usable, package.needs_compiling) == (
        "@img/sharp-linuxmusl-x64",
        [],
        True,
    )


def test_an_in_tree_file_dependency_is_copied_into_node_modules(
    build: BuildFn, tmp_path: Path
) -> None:
    done = build(tar_of(SHARED_APP, tmp_path / "t.tar"), app_name="shared")
    names = set(zip_names(done.result.artifact_path))
    assert {"node_modules/shared/index.js", "node_modules/is-number/index.js"} <= names
    assert require_from_artifact(done.result.artifact_path, tmp_path, "shared") == {
        "from": "the shared folder",
        "numeric": True,
    }


def test_npm_uses_the_first_allowed_npm_registry_only(
    settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    files = {**SHARED_APP, "package.json": json.dumps({"dependencies": {"is-number": "7.0.0"}})}
    tarball = tar_of(files, tmp_path / "t.tar")
    python_only = settings.model_copy(update={"allowed_indexes": ["https://pypi.org/simple"]})
    with pytest.raises(BuildFailed) as info:
        make_build(python_only, object_store, tmp_path / "a")(tarball, app_name="noreg")
    assert info.value.message.startswith("LAAMBDA_ALLOWED_INDEXES names no npm registry")

    # a mirror listed before registry.npmjs.org is the one npm asks (here refused by egress)
    mirror = settings.model_copy(
        update={
            "allowed_indexes": [
                "https://pypi.org/simple", "https://npm.mirror.invalid/", "https://registry.npmjs.org",
            ]
        }
    )  # fmt: skip
    lines: list[str] = []
    with pytest.raises(BuildFailed, match="^npm install failed"):
        build_source(
            tarball, app_name="mirror", workdir=tmp_path / "b", settings=mirror,
            store=object_store, log=lines.append,
        )  # fmt: skip
    refused = [line for line in lines if "Build egress refused" in line]
    assert refused
    assert all("npm.mirror.invalid:443" in line for line in refused)
