"""In-tree projects (`-e .`, `./libs/x`) are installed from the pushed tree, with the wheel
builder against the real index; a source-only package that compiles is refused with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.building.builders.wheels import uv_index_arguments
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


def test_an_in_tree_project_that_compiles_is_refused_naming_its_line(
    build: BuildFn, tmp_path: Path
) -> None:
    files = {
        "Procfile": "web: handler.main\n",
        "handler.py": "def main(event, context):\n    return 1\n",
        "requirements.txt": "six\n./libs/fast\n",
        "libs/fast/setup.py": (
            "from setuptools import Extension, setup\n"
            "setup(name='fast', version='1.0', ext_modules=[Extension('fast', ['fast.c'])])\n"
        ),
        "libs/fast/fast.c": (
            "#include <Python.h>\n"
            'static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "fast", 0, -1, 0};\n'
            "PyMODINIT_FUNC PyInit_fast(void) { return PyModule_Create(&m); }\n"
        ),
    }
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "t.tar"))
    assert info.value.message.startswith(
        "requirements.txt line 2: this local project did not build into a pure-Python wheel"
    )
    assert info.value.message.endswith("(the operator sets LAAMBDA_BUILDER=docker)")


def test_index_options_reach_uv_build_as_its_arguments() -> None:
    options = [
        "--index-url https://pypi.example/simple",
        "--extra-index-url https://more.example/simple",
        "--find-links ./local/wheels",
        "--trusted-host pypi.example",
    ]
    assert uv_index_arguments(options) == [
        "--index-url", "https://pypi.example/simple",
        "--extra-index-url", "https://more.example/simple",
        "--find-links", "./local/wheels",
        "--allow-insecure-host", "pypi.example",
    ]  # fmt: skip
    assert uv_index_arguments(["--no-index"]) == ["--no-index"]
