"""The wheel builder, with real packages from the package index and the moto S3 cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.building.builders.wheels import _refuse_host_binaries
from laambda.building.cache import purge_cache
from laambda.config import Settings
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore
from tests.support.archives import tar_of
from tests.support.build import Build, BuildFn, make_build, tar_of_app, zip_names
from tests.support.wheels import run_handler, wheel_tags

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def thumbs(
    session_settings: Settings, session_store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Build, Build, BuildFn]:
    """The Pillow app built cold, then again from the same source (warm)."""
    base = tmp_path_factory.mktemp("thumbs-wheels")
    build = make_build(session_settings, session_store, base)
    tarball = tar_of_app("thumbs", base / "thumbs.tar")
    return build(tarball), build(tarball), build


class TestPillowApp:
    def test_result(self, thumbs: tuple[Build, Build, BuildFn]) -> None:
        cold, _, _ = thumbs
        assert cold.result.runtime == "python3.11"
        assert cold.result.architecture == "x86_64"
        assert cold.result.procfile == {
            "create": "CreateThumbnail.handler",
            "resize": "ResizeThumbnail.handler",
        }
        assert cold.result.size == cold.result.artifact_path.stat().st_size
        assert cold.lines[0] == (
            "-----> Python app detected (python3.11, x86_64): found requirements.txt; "
            "version from .python-version"
        )
        assert any(line.startswith(" !     python3.11 was deprecated") for line in cold.lines)

    def test_artifact_holds_manylinux_pillow_for_the_lambda_python(
        self, thumbs: tuple[Build, Build, BuildFn]
    ) -> None:
        names = zip_names(thumbs[0].result.artifact_path)
        assert {"CreateThumbnail.py", "ResizeThumbnail.py", "Procfile", "PIL/Image.py"} <= set(
            names
        )
        assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
        tags = wheel_tags(thumbs[0].result.artifact_path, "pillow")
        assert tags
        assert all(t.startswith("cp311-cp311-manylinux") for t in tags)
        assert any(t.endswith("_x86_64") for t in tags)

    def test_both_handlers_run_from_the_artifact(
        self, thumbs: tuple[Build, Build, BuildFn], tmp_path: Path
    ) -> None:
        artifact = thumbs[0].result.artifact_path
        created = run_handler(
            artifact, tmp_path, "CreateThumbnail.handler", {"width": 800, "height": 400}
        )
        assert created == {"size": [128, 64], "png_bytes": created["png_bytes"]}  # type: ignore[index]
        resized = run_handler(
            artifact, tmp_path, "ResizeThumbnail.handler", {"width": 32, "height": 24}
        )
        assert resized == {"size": [32, 24], "mode": "RGB"}

    def test_same_source_same_sha256_and_no_installer_on_the_second_build(
        self, thumbs: tuple[Build, Build, BuildFn]
    ) -> None:
        cold, warm, _ = thumbs
        assert warm.result.sha256 == cold.result.sha256
        assert warm.result.artifact_path.read_bytes() == cold.result.artifact_path.read_bytes()
        assert "-----> Installing requirements.txt (cached: 1 package)" in warm.lines
        assert not [
            line for line in warm.lines if "Installing wheels" in line or "pillow==" in line
        ]
        assert any("+ pillow==" in line for line in cold.lines)

    def test_code_change_reuses_dependencies(
        self, thumbs: tuple[Build, Build, BuildFn], tmp_path: Path
    ) -> None:
        cold, _, build = thumbs
        changed = tar_of_app("thumbs", tmp_path / "t.tar", extra={"VERSION": "2\n"})
        again = build(changed)
        assert again.result.sha256 != cold.result.sha256
        assert "VERSION" in zip_names(again.result.artifact_path)
        assert "-----> Installing requirements.txt (cached: 1 package)" in again.lines


def test_arm64_selects_aarch64_wheels(build: BuildFn, tmp_path: Path) -> None:
    tarball = tar_of_app("thumbs", tmp_path / "t.tar")
    result = build(tarball, architecture="arm64").result
    assert result.architecture == "arm64"
    tags = wheel_tags(result.artifact_path, "pillow")
    assert tags
    assert all(t.endswith("_aarch64") for t in tags)


def test_pyproject_app_and_a_pure_sdist(build: BuildFn, tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "hello"\nversion = "1"\ndependencies = ["six", "docopt==0.6.2"]\n'
    )
    files = {"pyproject.toml": pyproject, "Procfile": "hi: hello.handler", "hello.py": "x = 1\n"}
    done = build(tar_of(files, tmp_path / "t.tar"))
    names = zip_names(done.result.artifact_path)
    assert {"six.py", "docopt.py", "hello.py"} <= set(names)
    assert done.result.runtime == "python3.14"
    assert "-----> docopt is published only as source: building it into a wheel" in done.lines


def test_sdist_that_needs_compiling_names_the_package(build: BuildFn, tmp_path: Path) -> None:
    files = {"requirements.txt": "netifaces==0.11.0\n", "Procfile": "a: app.h", "app.py": ""}
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"))
    message = info.value.message
    assert message.startswith(
        "netifaces (requirements.txt line 1) is published only as source code and needs "
        "compiling, which the wheels builder cannot do for Lambda's Linux: "
    )
    assert message.endswith("the Docker builder (the operator sets LAAMBDA_BUILDER=docker)")


def test_unknown_package_fails_clearly(build: BuildFn, tmp_path: Path) -> None:
    files = {
        "requirements.txt": "no-such-package-laambda-x\n",
        "Procfile": "a: app.h",
        "app.py": "",
    }
    with pytest.raises(BuildFailed, match="installing the dependencies failed"):
        build(tar_of(files, tmp_path / "t.tar"))


class TestCache:
    def test_shared_through_s3_purged_per_app_and_corruption_rebuilt(
        self, settings: Settings, object_store: ObjectStore, tmp_path: Path
    ) -> None:
        tarball = tar_of_app("thumbs", tmp_path / "t.tar")
        first = make_build(settings, object_store, tmp_path / "a")(tarball)
        assert "-----> Installed 1 package" in first.lines

        # another worker host: an empty data directory, the same bucket
        other = settings.model_copy(update={"data_dir": tmp_path / "other-host"})
        second = make_build(other, object_store, tmp_path / "b")(tarball)
        assert "-----> Installing requirements.txt (cached: 1 package)" in second.lines
        assert second.result.sha256 == first.result.sha256

        # a corrupt shared entry is detected, deleted and rebuilt
        key = next(p.stem for p in (tmp_path / "other-host").rglob("*.zip"))
        object_store.client.put_object(
            Bucket=object_store.bucket, Key=f"build-cache/thumbs/{key}.zip", Body=b"garbage"
        )
        third_host = settings.model_copy(update={"data_dir": tmp_path / "third-host"})
        third = make_build(third_host, object_store, tmp_path / "c")(tarball)
        assert " !     the shared dependency cache entry is corrupt: rebuilding it" in third.lines
        assert third.result.sha256 == first.result.sha256

        # a corrupt local entry too
        local = next((tmp_path / "third-host").rglob("*.zip"))
        local.write_bytes(b"also garbage")
        fourth = make_build(third_host, object_store, tmp_path / "d")(tarball)
        assert " !     the local dependency cache entry is corrupt: rebuilding it" in fourth.lines
        assert "-----> Installing requirements.txt (cached: 1 package)" in fourth.lines

        # purge: another app's entry stays, this app installs from scratch
        object_store.put_bytes("build-cache/other-app/x.json", b"{}")
        assert purge_cache(object_store, third_host, "thumbs") == 1
        assert object_store.exists("build-cache/other-app/x.json")
        fifth = make_build(third_host, object_store, tmp_path / "e")(tarball)
        assert "-----> Installed 1 package" in fifth.lines
        assert fifth.result.sha256 == first.result.sha256

    def test_a_purge_from_one_host_reaches_the_local_copies_of_others(
        self, settings: Settings, object_store: ObjectStore, tmp_path: Path
    ) -> None:
        tarball = tar_of_app("thumbs", tmp_path / "t.tar")
        worker = make_build(settings, object_store, tmp_path / "a")
        assert "-----> Installed 1 package" in worker(tarball).lines
        api_host = settings.model_copy(update={"data_dir": tmp_path / "api-host"})
        assert purge_cache(object_store, api_host, "thumbs") == 1
        again = make_build(settings, object_store, tmp_path / "b")(tarball)
        assert "-----> Installed 1 package" in again.lines


def test_a_wheel_built_for_the_host_never_reaches_an_artifact(tmp_path: Path) -> None:
    info = tmp_path / "fastthing-1.0.dist-info"
    info.mkdir()
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: cp311-cp311-linux_x86_64\n")
    with pytest.raises(BuildFailed) as error:
        _refuse_host_binaries(tmp_path)
    assert error.value.message.startswith("fastthing was built for this build host (linux_x86_64)")
