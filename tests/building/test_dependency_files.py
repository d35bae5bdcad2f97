"""Dependency files are read as their tools read them, inside the pushed tree and the allowed
indexes; every refusal names the file, the line and the rule, and never a target's content."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from laambda.building.detect import detect, write_dependency_files
from laambda.building.pipeline import build_source
from laambda.building.spec import Spec
from laambda.config import Settings
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore
from tests.support.archives import tar_of
from tests.support.build import BuildFn, make_build
from tests.support.indexes import listener  # noqa: F401

TODAY = date(2026, 11, 28)
DEFAULT = ["https://pypi.org/simple", "https://registry.npmjs.org"]
APP = {"Procfile": "web: app.handler\n", "app.py": "def handler(e, c):\n    return 1\n"}
SECRET = "s3cret-value-that-must-never-show"


def tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def spec_of(
    src: Path, tmp_path: Path, *, allowed: list[str] | None = None, arch: str = "x86_64"
) -> tuple[Spec, Path, list[str]]:
    lines: list[str] = []
    dest = tmp_path / "spec"
    detection = detect(src, today=TODAY, requested=None)
    spec = write_dependency_files(
        src,
        detection,
        dest,
        architecture=arch,
        allowed_indexes=allowed or DEFAULT,
        log=lines.append,
    )
    return spec, dest, lines


def requirements(src: Path, tmp_path: Path, **kw: object) -> list[str]:
    """The requirement lines written for the builder, without their origin comments."""
    _, dest, _ = spec_of(src, tmp_path, **kw)  # type: ignore[arg-type]
    text = (dest / "requirements.txt").read_text()
    return [ln.split("  # ", 1)[0] for ln in text.splitlines() if not ln.startswith("-")]


def refused(src: Path, tmp_path: Path, **kw: object) -> str:
    with pytest.raises(BuildFailed) as info:
        spec_of(src, tmp_path, **kw)  # type: ignore[arg-type]
    return info.value.message


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's environment holds a secret, as a real worker's does."""
    monkeypatch.setenv("LAAMBDA_SECRET_KEY", SECRET)
    monkeypatch.setenv("LAAMBDA_TEST_EXTRA", SECRET)


class TestPipSyntax:
    def test_includes_resolve_from_the_including_file(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src",
            {
                "requirements.txt": "-r reqs/base.txt\nhumanize\n",
                "reqs/base.txt": "-r common.txt\n-c ../constraints.txt\n",
                "reqs/common.txt": "attrs  # shared\n",
                "constraints.txt": "attrs<30\n",
            },
        )
        assert requirements(src, tmp_path) == ["humanize", "attrs"]
        constraints = (tmp_path / "spec" / "constraints.txt").read_text()
        assert constraints.startswith("attrs<30  # constraints.txt line 1")

    def test_continuations_hashes_and_per_line_options(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src",
            {
                "requirements.txt": (
                    "# comment\n--only-binary :all:\n--no-binary docopt\n--prefer-binary\n"
                    "six==1.16.0 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n"
                    "attrs[tests]>=23 ; python_version >= '3.8'\n"
                ),
            },
        )
        _, dest, _ = spec_of(src, tmp_path)
        text = (dest / "requirements.txt").read_text()
        assert text.splitlines()[:5] == [
            "--index-url https://pypi.org/simple",
            "--only-binary :all:",
            "--no-binary docopt",
            "--prefer-binary",
            "six==1.16.0 --hash=sha256:aaa --hash=sha256:bbb  # requirements.txt line 5",
        ]
        assert "attrs[tests]>=23 ; python_version >= '3.8'  # requirements.txt line 8" in text

    @pytest.mark.parametrize(
        "encoded",
        [
            "\ufeffhumanize==4.9.0\r\n".encode(),
            "humanize==4.9.0\r\n".encode("utf-16"),
            "\ufeffhumanize==4.9.0\n".encode("utf-16-be"),
            "\ufeffhumanize==4.9.0\n".encode("utf-32-le"),
            b"# -*- coding: latin-1 -*-\nhumanize==4.9.0\n",
        ],
    )
    def test_byte_order_marks_and_coding_comments(self, tmp_path: Path, encoded: bytes) -> None:
        src = tree(tmp_path / "src", {"requirements.txt": encoded})
        assert requirements(src, tmp_path) == ["humanize==4.9.0"]

    def test_text_pip_cannot_decode_is_refused_with_the_fix(self, tmp_path: Path) -> None:
        utf16_without_bom = "humanize\n".encode("utf-16-le")
        src = tree(tmp_path / "src", {"requirements.txt": utf16_without_bom})
        assert refused(src, tmp_path) == (
            "requirements.txt cannot be read as text: save it as UTF-8 (UTF-16 and UTF-32 are "
            "read only with a byte-order mark)"
        )

    def test_markers_are_evaluated_for_lambda_not_the_host(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src",
            {
                "requirements.txt": (
                    "pywin32 ; sys_platform == 'win32'\n"
                    "uvloop ; sys_platform == 'linux'\n"
                    "x86only ; platform_machine == 'x86_64'\n"
                    "old ; python_version < '3.10'\n"
                    ".venv-thing ; sys_platform == 'darwin'\n"
                ),
                ".python-version": "3.12\n",
            },
        )
        assert requirements(src, tmp_path) == [
            "uvloop ; sys_platform == 'linux'",
            "x86only ; platform_machine == 'x86_64'",
        ]
        _, _, log = spec_of(src, tmp_path / "again")
        assert log[0] == (
            '       requirements.txt line 1: pywin32 left out: its marker "sys_platform == '
            "'win32'\" is false on Lambda (Linux x86_64, Python 3.12)"
        )
        arm = requirements(src, tmp_path / "arm", arch="arm64")
        assert arm == ["uvloop ; sys_platform == 'linux'"]

    def test_editable_in_tree_project_is_copied_and_installed_regular(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src",
            {
                "requirements.txt": "-e .\n./libs/common[extra]\nlibs/tool-1.0-py3-none-any.whl\n",
                "pyproject.toml": '[project]\nname = "app"\nversion = "1"\n',
                "src/app/__init__.py": "",
                "libs/common/setup.py": "",
                "libs/tool-1.0-py3-none-any.whl": b"PK",
            },
        )
        spec, dest, _ = spec_of(src, tmp_path)
        assert requirements(src, tmp_path / "again") == [
            "./local/0-project",
            "./local/1-common[extra]",
            "./local/2-tool-1.0-py3-none-any.whl/tool-1.0-py3-none-any.whl",
        ]
        assert (dest / "local" / "0-project" / "src" / "app" / "__init__.py").is_file()
        assert (dest / "local" / "1-common" / "setup.py").is_file()
        # the key follows the local projects' content
        (src / "libs" / "common" / "setup.py").write_text("# changed\n")
        changed, _, _ = spec_of(src, tmp_path / "changed")
        assert changed.key_text != spec.key_text

    def test_nothing_declared(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src",
            {"requirements.txt": "# nothing\n--index-url https://pypi.org/simple\n"},
        )
        spec, _, _ = spec_of(src, tmp_path)
        assert not spec.declares_any


HOSTILE_REQUIREMENTS = [
    (
        "-r /proc/self/environ\n",
        "requirements.txt line 1: -r names '/proc/self/environ', an absolute path",
    ),
    (
        "-r /etc/os-release\n",
        "requirements.txt line 1: -r names '/etc/os-release', an absolute path",
    ),
    ("six\n-c /etc/passwd\n", "requirements.txt line 2: -c names '/etc/passwd', an absolute path"),
    (
        "-r ../../outside.txt\n",
        "requirements.txt line 1: -r names '../../outside.txt', which leaves",
    ),
    ("-r sub/../../x.txt\n", "which leaves the repository"),
    ("-e /etc\n", "requirements.txt line 1: the local project names '/etc', an absolute path"),
    ("-e ..\n", "requirements.txt line 1: the local project names '..', which leaves"),
    ("../sibling-project\n", "the local project names '../sibling-project', which leaves"),
    ("/srv/project\n", "the local project names '/srv/project', an absolute path"),
    ("file:///etc/os-release\n", "the local project names '/etc/os-release', an absolute path"),
    ("pkg @ file:///etc/passwd\n", "the local project names '/etc/passwd', an absolute path"),
    ("pkg @ file://localhost/etc/x\n", "the local project names '/etc/x', an absolute path"),
    ("-f /var/cache/wheels\nsix\n", "--find-links names '/var/cache/wheels', an absolute path"),
    ("-f ../wheels\nsix\n", "--find-links names '../wheels', which leaves"),
    ("~/project\n", "names '~/project', an absolute path"),
    ("-r https://example.com/r.txt\n", "-r https://example.com/r.txt names a URL"),
    (
        "--index-url https://pypi.org/simple/${LAAMBDA_SECRET_KEY}\n",
        "${LAAMBDA_SECRET_KEY} (an environment variable) is not expanded",
    ),
]


class TestHostilePaths:
    @pytest.mark.usefixtures("secret_env")
    @pytest.mark.parametrize(("text", "expected"), HOSTILE_REQUIREMENTS)
    def test_refused_before_reading(self, tmp_path: Path, text: str, expected: str) -> None:
        tree(tmp_path / "outside.txt", {})  # a folder beside the tree
        src = tree(tmp_path / "a" / "src", {"requirements.txt": text, **APP})
        message = refused(src, tmp_path)
        assert expected in message
        assert message.startswith("requirements.txt line ")
        assert SECRET not in message
        assert not (tmp_path / "spec" / "requirements.txt").exists()

    def test_no_host_file_content_in_the_message(self, tmp_path: Path) -> None:
        host = Path("/etc/os-release").read_text().splitlines()
        src = tree(tmp_path / "src", {"requirements.txt": "-r /etc/os-release\n"})
        message = refused(src, tmp_path)
        assert not [line for line in host if line and line in message]

    def test_symlink_that_leaves_the_tree_is_refused(self, tmp_path: Path) -> None:
        src = tree(tmp_path / "src", {"requirements.txt": "-r common.txt\n"})
        (src / "common.txt").symlink_to("/etc/os-release")
        assert refused(src, tmp_path) == (
            "requirements.txt line 1: common.txt is a symbolic link that leaves the repository; "
            "dependency files may name only files inside it"
        )

    def test_symlinked_project_folder_that_leaves_is_refused(self, tmp_path: Path) -> None:
        outside = tree(tmp_path / "outside", {"setup.py": ""})
        src = tree(tmp_path / "src", {"requirements.txt": "./lib\n"})
        (src / "lib").symlink_to(outside)
        assert "lib is a symbolic link that leaves the repository" in refused(src, tmp_path)

    def test_symlink_inside_a_project_that_leaves_is_refused(self, tmp_path: Path) -> None:
        src = tree(tmp_path / "src", {"requirements.txt": "./lib\n", "lib/setup.py": ""})
        (src / "lib" / "secrets").symlink_to("/etc")
        assert refused(src, tmp_path) == "lib/secrets is a symbolic link that leaves the repository"

    def test_in_tree_symlinks_are_followed(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src",
            {"requirements.txt": "-r common.txt\n", "reqs/common.txt": "attrs\n"},
        )
        (src / "common.txt").symlink_to("reqs/common.txt")
        assert requirements(src, tmp_path) == ["attrs"]

    def test_root_requirements_may_be_an_in_tree_symlink(self, tmp_path: Path) -> None:
        src = tree(tmp_path / "src", {"reqs/prod.txt": "-r base.txt\nsix\n", "base.txt": "attrs\n"})
        (src / "requirements.txt").symlink_to("reqs/prod.txt")
        assert requirements(src, tmp_path) == ["six", "attrs"]  # -r as pip: from the link's folder
        outside = tree(tmp_path / "o", {"Procfile": "x"})
        (outside / "requirements.txt").symlink_to("/etc/os-release")
        with pytest.raises(BuildFailed, match="^no supported app found"):
            detect(outside, today=TODAY, requested=None)

    def test_include_loop_is_refused_but_a_file_may_be_included_twice(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src", {"requirements.txt": "-r a.txt\n", "a.txt": "-r requirements.txt\n"}
        )
        assert refused(src, tmp_path) == (
            "requirements.txt includes itself (through requirements.txt -> a.txt -> "
            "requirements.txt): remove the loop"
        )
        diamond = tree(
            tmp_path / "d",
            {
                "requirements.txt": "-r base.txt\n-r web.txt\n",
                "web.txt": "-r base.txt\nflask\n",
                "base.txt": "attrs\n",
            },
        )
        assert requirements(diamond, tmp_path / "d2") == ["attrs", "flask", "attrs"]

    @pytest.mark.parametrize(
        ("files", "expected"),
        [
            (
                {"Pipfile": '[packages]\nlib = {path = "/etc"}\n'},
                "Pipfile [packages] lib: the local project names '/etc', an absolute path",
            ),
            (
                {"Pipfile": '[packages]\nlib = {path = "../lib", editable = true}\n'},
                "Pipfile [packages] lib: the local project names '../lib', which leaves",
            ),
            (
                {
                    "Pipfile": "[packages]\n",
                    "Pipfile.lock": json.dumps({"default": {"lib": {"path": "/proc/self"}}}),
                },
                "Pipfile.lock \"default\" lib: the local project names '/proc/self', an absolute",
            ),
            (
                {
                    "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'
                    'dependencies = ["lib"]\n'
                    '[tool.uv.sources]\nlib = { path = "../lib" }\n'
                },
                "pyproject.toml [project] dependencies[0]: the local project names '../lib'",
            ),
            (
                {
                    "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12"\n'
                    'lib = {path = "/opt/lib"}\n'
                },
                "pyproject.toml [tool.poetry.dependencies] lib: the local project names '/opt/lib'",
            ),
            (
                {
                    "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n',
                    "poetry.lock": '[[package]]\nname = "lib"\nversion = "1"\ngroups = ["main"]\n'
                    '[package.source]\ntype = "directory"\nurl = "../../lib"\n',
                },
                "poetry.lock package lib: the local project names '../../lib', which leaves",
            ),
            (
                {"package.json": json.dumps({"dependencies": {"x": "file:../x"}})},
                "package.json \"dependencies\" x: file: names '../x', which leaves the repository",
            ),
            (
                {"package.json": json.dumps({"dependencies": {"x": "link:/etc"}})},
                "package.json \"dependencies\" x: link: names '/etc', an absolute path",
            ),
            (
                {"package.json": json.dumps({"devDependencies": {"x": "/proc/self/environ"}})},
                "package.json \"devDependencies\" x: the local package names '/proc/self/environ'",
            ),
            (
                {
                    "package.json": json.dumps({"dependencies": {"x": "1.0.0"}}),
                    "package-lock.json": json.dumps(
                        {"packages": {"node_modules/x": {"resolved": "../../x", "link": True}}}
                    ),
                },
                'package-lock.json "packages" "node_modules/x": the local package names',
            ),
        ],
    )
    def test_manifests_and_locks(
        self, tmp_path: Path, files: dict[str, str], expected: str
    ) -> None:
        src = tree(tmp_path / "src", {**files, **APP})
        assert expected in refused(src, tmp_path)

    def test_a_uv_workspace_member_without_the_lock_is_refused(self, tmp_path: Path) -> None:
        pyproject = (
            '[project]\nname = "a"\nversion = "1"\ndependencies = ["shared"]\n'
            "[tool.uv.sources]\nshared = { workspace = true }\n"
        )
        src = tree(tmp_path / "src", {"pyproject.toml": pyproject})
        assert refused(src, tmp_path) == (
            "pyproject.toml [project] dependencies[0]: shared comes from the uv workspace, "
            "which only uv.lock describes: run `uv lock` and commit uv.lock"
        )

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            ("Pipfile", "packages = true\n"),
            ("Pipfile.lock", '{"default": [1]}'),
            ("pyproject.toml", "[project]\ndependencies = [1]\n"),
            ("poetry.lock", "package = [1]\n"),
        ],
    )
    def test_a_manifest_of_the_wrong_shape_is_refused_by_name(
        self, tmp_path: Path, name: str, text: str
    ) -> None:
        files = {name: text, **({"pyproject.toml": "[project]\n"} if name == "poetry.lock" else {})}
        if name == "Pipfile.lock":
            files["Pipfile"] = "[packages]\n"
        src = tree(tmp_path / "src", files)
        assert refused(src, tmp_path).startswith(f"{name} does not have the shape")

    def test_npm_in_tree_package_is_copied_at_its_path(self, tmp_path: Path) -> None:
        package = {"dependencies": {"shared": "file:libs/shared", "left-pad": "^1.3.0"}}
        src = tree(
            tmp_path / "src",
            {
                "package.json": json.dumps(package),
                "libs/shared/package.json": '{"name": "shared"}',
                "libs/shared/index.js": "module.exports = 1\n",
            },
        )
        spec, dest, _ = spec_of(src, tmp_path)
        assert (dest / "libs" / "shared" / "index.js").is_file()
        assert "libs/shared/index.js" in spec.key_text

    @pytest.mark.usefixtures("secret_env")
    def test_the_build_stops_before_any_installer_runs(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        files = {**APP, "requirements.txt": "six\n-r /proc/self/environ\n"}
        lines: list[str] = []
        with pytest.raises(BuildFailed) as info:
            build_source(
                tar_of(files, tmp_path / "t.tar"),
                app_name="a",
                workdir=tmp_path / "work",
                settings=settings,
                store=None,
                log=lines.append,
            )
        assert info.value.message.startswith("requirements.txt line 2: -r names")
        assert not settings.data_dir.exists()  # no download cache: uv never ran
        assert lines[-1].startswith("-----> Procfile declares")
        assert not [line for line in lines if SECRET in line]


class TestIndexes:
    def test_a_disallowed_index_is_refused_and_never_contacted(
        self,
        build: BuildFn,
        tmp_path: Path,
        listener: tuple[str, list[bytes]],  # noqa: F811
    ) -> None:
        url, received = listener
        files = {**APP, "requirements.txt": f"--index-url {url}/simple\nsix\n"}
        with pytest.raises(BuildFailed) as info:
            build(tar_of(files, tmp_path / "t.tar"))
        assert info.value.message == (
            f"requirements.txt line 1: the index {url}/simple is not an allowed package source; "
            "builds may fetch only from LAAMBDA_ALLOWED_INDEXES (https://pypi.org/simple, "
            "https://registry.npmjs.org): use a package from those, or ask the operator to add "
            "the address to LAAMBDA_ALLOWED_INDEXES"
        )
        assert received == []

    def test_dot_segments_cannot_leave_a_path_scoped_index(
        self,
        settings: Settings,
        object_store: ObjectStore,
        tmp_path: Path,
        listener: tuple[str, list[bytes]],  # noqa: F811
    ) -> None:
        url, received = listener
        scoped = settings.model_copy(update={"allowed_indexes": [f"{url}/team-a/simple"]})
        build = make_build(scoped, object_store, tmp_path / "builds")
        escape = f"{url}/team-a/simple/../../team-b/simple/"
        files = {**APP, "requirements.txt": f"--index-url {escape}\nsix\n"}
        with pytest.raises(BuildFailed) as info:
            build(tar_of(files, tmp_path / "t.tar"))
        assert info.value.message.startswith(
            f"requirements.txt line 1: the index {escape} holds a '.' or '..' path segment or "
            "a backslash (also when percent-encoded), a space or a control character, which "
            "installers resolve to another address than the one written"
        )
        assert received == []

    @pytest.mark.parametrize(
        ("files", "where"),
        [
            (
                {"requirements.txt": "--extra-index-url http://169.254.169.254/simple\n"},
                "requirements.txt line 1",
            ),
            (
                {"requirements.txt": "six\n-f https://evil.example/wheels/\n"},
                "requirements.txt line 2",
            ),
            (
                {"requirements.txt": "git+https://github.com/org/repo@v1#egg=repo\n"},
                "requirements.txt line 1",
            ),
            (
                {"requirements.txt": "pkg @ https://files.example/pkg-1.0-py3-none-any.whl\n"},
                "requirements.txt line 1",
            ),
            (
                {"requirements.txt": "-e git+ssh://git@github.com/org/repo#egg=repo\n"},
                "requirements.txt line 1",
            ),
            (
                {"requirements.txt": "https://pypi.org.evil.example/simple/x.whl\n"},
                "requirements.txt line 1",
            ),
            (
                {
                    "Pipfile": '[[source]]\nurl = "http://10.0.0.1/simple"\nname = "corp"\n'
                    '[packages]\nsix = "*"\n'
                },
                "Pipfile [[source]][0]",
            ),
            (
                {
                    "Pipfile": "[packages]\n"
                    'x = {git = "https://gitlab.example/x.git", ref = "main"}\n'
                },
                "Pipfile [packages] x",
            ),
            (
                {
                    "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'
                    '[[tool.uv.index]]\nurl = "https://corp.example/simple"\n'
                },
                "pyproject.toml [[tool.uv.index]][0]",
            ),
            (
                {
                    "pyproject.toml": '[tool.poetry.dependencies]\nsix = "*"\n'
                    '[[tool.poetry.source]]\nname = "c"\nurl = "https://corp.example/simple"\n'
                },
                "pyproject.toml [[tool.poetry.source]][0]",
            ),
            (
                {"package.json": json.dumps({"dependencies": {"x": "github:org/x"}})},
                'package.json "dependencies" x',
            ),
            (
                {"package.json": json.dumps({"dependencies": {"x": "org/x#v1"}})},
                'package.json "dependencies" x',
            ),
            (
                {"package.json": json.dumps({"dependencies": {"x": "https://evil.example/x.tgz"}})},
                'package.json "dependencies" x',
            ),
            (
                {
                    "package.json": json.dumps({"dependencies": {"x": "1.0.0"}}),
                    "package-lock.json": json.dumps(
                        {
                            "lockfileVersion": 3,
                            "packages": {
                                "node_modules/x": {"resolved": "http://127.0.0.1:9/x.tgz"}
                            },
                        }
                    ),
                },
                'package-lock.json "packages" "node_modules/x"',
            ),
        ],
    )
    def test_every_source_form_is_checked(
        self, tmp_path: Path, files: dict[str, str], where: str
    ) -> None:
        src = tree(tmp_path / "src", {**files, **APP})
        message = refused(src, tmp_path)
        assert message.startswith(f"{where}: ")
        assert "is not an allowed package source" in message
        assert "LAAMBDA_ALLOWED_INDEXES" in message

    def test_a_version_1_lock_is_checked_too(self, tmp_path: Path) -> None:
        lock = {
            "lockfileVersion": 1,
            "dependencies": {
                "a": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz"},
                "b": {
                    "version": "1.0.0",
                    "dependencies": {"c": {"version": "git+https://evil.example/c.git#abc"}},
                },
            },
        }
        files = {"package.json": json.dumps({"dependencies": {"a": "1", "b": "1"}})}
        src = tree(tmp_path / "src", {**files, "package-lock.json": json.dumps(lock)})
        assert refused(src, tmp_path).startswith(
            'package-lock.json "dependencies" c: the package address '
            "git+https://evil.example/c.git#abc is not an allowed package source"
        )

    def test_credentials_in_an_index_url_are_never_shown(self, tmp_path: Path) -> None:
        src = tree(
            tmp_path / "src", {"requirements.txt": f"-i https://me:{SECRET}@corp.example/simple\n"}
        )
        message = refused(src, tmp_path)
        assert SECRET not in message
        assert "https://***@corp.example/simple" in message

    def test_trusted_host_only_for_an_allowed_index(self, tmp_path: Path) -> None:
        src = tree(tmp_path / "src", {"requirements.txt": "--trusted-host evil.example\nsix\n"})
        assert refused(src, tmp_path).startswith(
            "requirements.txt line 1: --trusted-host evil.example is not the host of an index in "
            "LAAMBDA_ALLOWED_INDEXES"
        )

    def test_what_the_operator_allows_passes(self, tmp_path: Path) -> None:
        allowed = [*DEFAULT, "https://corp.example/simple", "https://github.com/myorg"]
        src = tree(
            tmp_path / "src",
            {
                "requirements.txt": (
                    "--extra-index-url https://corp.example/simple/\n"
                    "tool @ git+https://github.com/myorg/tool@v1\n"
                )
            },
        )
        _, dest, _ = spec_of(src, tmp_path, allowed=allowed)
        text = (dest / "requirements.txt").read_text()
        assert "--extra-index-url https://corp.example/simple/\n" in text
        assert "tool @ git+https://github.com/myorg/tool@v1  # requirements.txt line 2" in text
        other = tree(tmp_path / "o", {"requirements.txt": "x @ git+https://github.com/myorgx/x\n"})
        assert "is not an allowed package source" in refused(
            other, tmp_path / "o2", allowed=allowed
        )

    def test_the_default_index_is_written_explicitly(self, tmp_path: Path) -> None:
        src = tree(tmp_path / "src", {"requirements.txt": "six\n"})
        _, dest, _ = spec_of(src, tmp_path, allowed=["https://mirror.example/simple"])
        assert (
            (dest / "requirements.txt")
            .read_text()
            .startswith("--index-url https://mirror.example/simple\n")
        )


class TestGroups:
    def test_poetry_lock_old_and_new_formats_ship_main_only(self, tmp_path: Path) -> None:
        lock = (
            '[[package]]\nname = "six"\nversion = "1.16.0"\ngroups = ["main"]\n\n'
            '[[package]]\nname = "pytest"\nversion = "8.0.0"\ngroups = ["dev"]\n\n'
            '[[package]]\nname = "both"\nversion = "1"\ngroups = ["main", "dev"]\n\n'
            '[[package]]\nname = "idna"\nversion = "3.7"\ncategory = "main"\n\n'
            '[[package]]\nname = "black"\nversion = "24.1"\ncategory = "dev"\n\n'
            '[[package]]\nname = "extra-only"\nversion = "1"\noptional = true\n'
            'groups = ["main"]\n\n'
            '[[package]]\nname = "colorama"\nversion = "0.4"\ngroups = ["main"]\n'
            'markers = "sys_platform == \\"win32\\""\n\n'
            '[[package]]\nname = "tzdata"\nversion = "1"\ngroups = ["main", "dev"]\n'
            'markers = {main = "platform_system == \\"Windows\\"", '
            'dev = "python_version >= \\"3\\""}\n'
        )
        src = tree(
            tmp_path / "src", {"pyproject.toml": '[tool.poetry]\nname = "a"\n', "poetry.lock": lock}
        )
        assert requirements(src, tmp_path) == ["six==1.16.0", "both==1", "idna==3.7"]

    def test_pep621_never_ships_optional_or_dependency_groups(self, tmp_path: Path) -> None:
        pyproject = (
            '[project]\nname = "a"\nversion = "1"\ndependencies = ["six>=1", "attrs"]\n'
            '[project.optional-dependencies]\ndocs = ["sphinx"]\n'
            '[dependency-groups]\ndev = ["pytest"]\n'
        )
        src = tree(tmp_path / "src", {"pyproject.toml": pyproject})
        assert requirements(src, tmp_path) == ["six>=1", "attrs"]

    def test_poetry_1_dependencies_with_carets_and_no_dev(self, tmp_path: Path) -> None:
        pyproject = (
            '[tool.poetry]\nname = "a"\nversion = "1"\n'
            '[tool.poetry.dependencies]\npython = "^3.12"\nrequests = "^2.31"\n'
            'attrs = {version = "~23.1", extras = ["tests"]}\nzero = "^0.2.3"\nplain = "1.0"\n'
            'win = {version = "*", platform = "win32"}\nopt = {version = "*", optional = true}\n'
            'old = {version = "*", python = "<3.9"}\n'
            '[tool.poetry.dev-dependencies]\npytest = "*"\n'
            '[tool.poetry.group.dev.dependencies]\nblack = "*"\n'
        )
        src = tree(tmp_path / "src", {"pyproject.toml": pyproject, ".python-version": "3.12"})
        assert requirements(src, tmp_path) == [
            "requests>=2.31,<3",
            "attrs[tests]>=23.1,<23.2",
            "zero>=0.2.3,<0.3",
            "plain==1.0",
        ]

    def test_pipfile_never_ships_dev_packages(self, tmp_path: Path) -> None:
        pipfile = (
            '[packages]\nsix = "*"\nidna = ">=3"\n'
            'attrs = {version = "==23.1", extras = ["tests"]}\n'
            'win = {version = "*", sys_platform = "== \'win32\'"}\n'
            '[dev-packages]\npytest = "*"\n'
        )
        src = tree(tmp_path / "src", {"Pipfile": pipfile})
        assert requirements(src, tmp_path) == ["six", "idna>=3", "attrs[tests]==23.1"]

    def test_uv_lock_ships_no_group_even_a_default_one(self, tmp_path: Path) -> None:
        source = Path(__file__).parents[1] / "fixtures" / "apps" / "locked"
        pyproject = (
            source / "pyproject.toml"
        ).read_text() + '\n[tool.uv]\ndefault-groups = ["dev"]\n'
        src = tree(
            tmp_path / "src",
            {"pyproject.toml": pyproject, "uv.lock": (source / "uv.lock").read_text()},
        )
        assert requirements(src, tmp_path) == ["six==1.16.0"]


def test_pipfile_python_version_chooses_the_runtime(tmp_path: Path) -> None:
    src = tree(tmp_path / "src", {"Pipfile": '[packages]\n[requires]\npython_version = "3.12"\n'})
    detection = detect(src, today=TODAY, requested=None)
    assert (detection.runtime.identifier, detection.version_reason) == (
        "python3.12",
        "from Pipfile [requires]",
    )
    os.remove(src / "Pipfile")
    tree(src, {"Pipfile": "[packages]\n", ".python-version": "\ufeff3.13\n"})
    assert detect(src, today=TODAY, requested=None).runtime.identifier == "python3.13"


@pytest.mark.parametrize(
    "procfile",
    [
        "\ufeffweb: app.handler\r\n".encode(),  # Notepad
        "web: app.handler\r\n".encode("utf-16"),  # PowerShell 5.1's `echo ... > Procfile`
    ],
)
def test_a_procfile_written_on_windows_is_read(
    build: BuildFn, tmp_path: Path, procfile: bytes
) -> None:
    files: dict[str, str | bytes] = {**APP, "Procfile": procfile, "requirements.txt": ""}
    assert build(tar_of(files, tmp_path / "t.tar")).result.procfile == {"web": "app.handler"}


def test_pipfile_lock_alone_chooses_the_runtime(tmp_path: Path) -> None:
    lock = {"_meta": {"requires": {"python_version": "3.13"}}, "default": {}}
    src = tree(tmp_path / "src", {"Pipfile.lock": json.dumps(lock)})
    detection = detect(src, today=TODAY, requested=None)
    assert (detection.runtime.identifier, detection.version_reason) == (
        "python3.13",
        "from Pipfile.lock [requires]",
    )


def test_a_missing_local_project_names_its_line(tmp_path: Path) -> None:
    src = tree(tmp_path / "src", {"requirements.txt": "six\n-e ./libs/missing\n"})
    assert refused(src, tmp_path) == (
        "requirements.txt line 2: libs/missing is not in the repository: commit it or fix it"
    )
