"""The zip is deterministic: sorted, fixed times and modes, and raw copies of cached entries."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from laambda.building.artifact import tree_entries, write_zip, zip_entries
from laambda.domain.limits import MB, check_artifact, top_level
from laambda.errors import BuildFailed


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__pycache__").mkdir()
    (root / ".git").mkdir()
    (root / "zeta.py").write_text("z = 1\n")
    (root / "pkg" / "mod.py").write_text("m = 2\n" * 100)
    (root / "pkg" / "tool.sh").write_text("#!/bin/sh\n")
    (root / "pkg" / "tool.sh").chmod(0o775)
    (root / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (root / "pkg" / "old.pyc").write_bytes(b"\0")
    (root / ".git" / "HEAD").write_text("ref\n")
    return root


def test_same_files_same_bytes_whatever_the_times_and_order(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one")
    two = _tree(tmp_path / "two")
    os.utime(two / "zeta.py", (1_000_000_000, 1_000_000_000))
    sha_one, _, _ = write_zip(tree_entries(one), tmp_path / "one.zip")
    sha_two, _, _ = write_zip(reversed(list(tree_entries(two))), tmp_path / "two.zip")
    assert sha_one == sha_two


def test_contents_times_and_modes(tmp_path: Path) -> None:
    sha, size, unzipped = write_zip(tree_entries(_tree(tmp_path / "src")), tmp_path / "a.zip")
    assert size == (tmp_path / "a.zip").stat().st_size
    assert unzipped == 6 + 600 + 10
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["pkg/mod.py", "pkg/tool.sh", "zeta.py"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert [(i.external_attr >> 16) & 0o777 for i in infos] == [0o644, 0o755, 0o644]
        assert archive.read("pkg/mod.py") == b"m = 2\n" * 100
    assert len(sha) == 64


def test_raw_entries_copy_into_a_merged_zip(tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    (deps / "lib").mkdir(parents=True)
    (deps / "lib" / "__init__.py").write_text("VALUE = 42\n")
    (deps / "shared.py").write_text("from deps\n")
    write_zip(tree_entries(deps), tmp_path / "deps.zip")
    app = tmp_path / "app"
    app.mkdir()
    (app / "shared.py").write_text("from app\n")
    entries = [*tree_entries(app), *zip_entries(tmp_path / "deps.zip")]
    write_zip(entries, tmp_path / "merged.zip")
    with zipfile.ZipFile(tmp_path / "merged.zip") as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["lib/__init__.py", "shared.py"]
        assert archive.read("lib/__init__.py") == b"VALUE = 42\n"
        assert archive.read("shared.py") == b"from app\n"  # the app's own file wins


def test_lambda_size_limit_names_the_largest_packages() -> None:
    sizes = {"numpy": 120 * MB, "scipy": 110 * MB, "app.py": 1_000, "PIL": 30 * MB}
    with pytest.raises(BuildFailed) as info:
        check_artifact(sum(sizes.values()), 10, sizes=sizes)
    assert info.value.message.startswith("the artifact unzips to 260.0 MB, over Lambda's limit")
    assert "the largest parts are numpy (120.0 MB), scipy (110.0 MB), PIL (30.0 MB)" in (
        info.value.message
    )


def test_packages_are_counted_by_top_level_name() -> None:
    assert top_level("numpy/core/_multiarray.so") == "numpy"
    assert (
        top_level("node_modules/@aws-sdk/client-s3/index.js") == "node_modules/@aws-sdk/client-s3"
    )
    assert top_level("node_modules/is-number/index.js") == "node_modules/is-number"


def test_links_inside_the_tree_are_followed_and_loops_end(tmp_path: Path) -> None:
    root = tmp_path / "deps"
    (root / "node_modules" / "pkg" / "bin").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "bin" / "cli.js").write_text("run()\n")
    (root / "node_modules" / ".bin").mkdir()
    (root / "node_modules" / ".bin" / "cli").symlink_to("../pkg/bin/cli.js")
    (root / "node_modules" / "alias").symlink_to("pkg")
    (root / "node_modules" / "pkg" / "again").symlink_to("..")
    (root / "hosts").symlink_to("/etc/hosts")
    names = [e.name for e in tree_entries(root)]
    assert names == [
        "node_modules/.bin/cli",
        "node_modules/alias/bin/cli.js",
        "node_modules/pkg/bin/cli.js",
    ]
