"""In-tree projects (`-e .`, `./libs/x`) are installed from the pushed tree, with the wheel
builder against the real index; a source-only package that compiles is refused with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.errors import BuildFailed
from tests.support.archives import tar_of
from tests.support.build import LOCAL_APP, BuildFn, distributions, run_handler, zip_names

pytestmark = pytest.mark.slow


def test_editable_src_layout_and_local_project_install_from_the_tree(
    build: BuildFn, tmp_path: Path
) -> None:
    done = build(tar_of(LOCAL_APP, tmp_path / "t.tar"), app_name="local")
    names = set(zip_names(done.result.artifact_path))
    assert {"mypkg/__init__.py", "common/__init__.py", "humanize/__init__.py"} <= names
    assert distributions(done) == {"mypkg", "common", "humanize"}
    assert [n for n in names if n.startswith("humanize-4.9.")]  # the constraint held
    assert not [n for n in names if n.endswith((".pth", ".egg-link")) or "__editable__" in n]
    assert run_handler(done, tmp_path, "handler.main", {}) == {
        "pkg": "from the pushed tree",
        "common": 1,
    }
    assert "-----> Building the project named by requirements.txt line 2 into a wheel" in done.lines
    assert "-----> Building the project named by requirements.txt line 3 into a wheel" in done.lines

    # the dependency cache follows the local project's content
    changed = {**LOCAL_APP, "libs/common/common/__init__.py": "VALUE = 2\n"}
    again = build(tar_of(changed, tmp_path / "t2.tar"), app_name="local")
    assert not [line for line in again.lines if "(cached:" in line]
    assert run_handler(again, tmp_path / "again", "handler.main", {})["common"] == 2  # type: ignore[index]


def test_source_only_package_names_its_binary_sibling_and_line(
    build: BuildFn, tmp_path: Path
) -> None:
    files = {
        "requirements.txt": "six\npsycopg2==2.9.10\n",
        "Procfile": "a: app.h\n",
        "app.py": "",
    }
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"))
    assert info.value.message == (
        "psycopg2 (requirements.txt line 2) is published only as source code and needs "
        "compiling, which the wheels builder cannot do for Lambda's Linux: replace it with "
        "psycopg2-binary, its prebuilt sibling on the index, or build with the Docker builder "
        "(the operator sets LAAMBDA_BUILDER=docker)"
    )
