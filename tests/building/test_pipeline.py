"""Every bad input gives its message, fast, and nothing is written outside the build's folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from laambda.building.pipeline import build_source
from laambda.config import Settings
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore
from tests.support.archives import tar_of
from tests.support.build import APPS, BuildFn, make_build, zip_names

APP = {"Procfile": "web: app.handler\n", "app.py": "def handler(e, c):\n    return 1\n"}


def _build_fails(
    build: BuildFn, tmp_path: Path, files: Mapping[str, str | bytes], **kw: object
) -> str:
    with pytest.raises(BuildFailed) as info:
        build(tar_of(files, tmp_path / "src.tar"), **kw)
    return info.value.message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"app.py": ""}, "no supported app found at the root of the repository: looked for"),
        ({"requirements.txt": "", "app.py": ""}, "no Procfile found at the root"),
        ({**APP, "requirements.txt": "", "Procfile": "web app.handler"}, "Procfile line 1:"),
        (
            {**APP, "requirements.txt": "", "Procfile": "\nweb: missing.handler"},
            "Procfile line 2: the handler 'missing.handler' of 'web' needs missing.py or "
            "missing/__init__.py in the repository",
        ),
        (
            {**APP, "requirements.txt": "", "runtime.txt": "python-3.8"},
            "python3.8 (from runtime.txt)",
        ),
        ({**APP, "pyproject.toml": "[tool.x]\n"}, "pyproject.toml has no [project] table"),
        ({**APP, "pyproject.toml": "[project\n"}, "pyproject.toml is not valid TOML"),
        ({**APP, "package.json": "{nope"}, "package.json is not valid JSON"),
    ],
)
def test_bad_input_message(
    build: BuildFn, settings: Settings, tmp_path: Path, files: dict[str, str | bytes], expected: str
) -> None:
    message = _build_fails(build, tmp_path, files)
    assert expected in message
    assert not settings.data_dir.exists()  # no cache entry, no download: nothing outside


def test_unknown_architecture(build: BuildFn, tmp_path: Path) -> None:
    message = _build_fails(build, tmp_path, {**APP, "requirements.txt": ""}, architecture="ppc")
    assert message == "architecture 'ppc' is not one of x86_64, arm64"


def test_runtime_lambda_stopped_accepting(build: BuildFn, tmp_path: Path) -> None:
    files = {**APP, "requirements.txt": "", ".python-version": "3.11"}
    message = _build_fails(build, tmp_path, files, today=date(2027, 3, 1))
    assert "python3.11 (from .python-version) is no longer accepted by Lambda" in message


def test_the_default_runtime_setting_decides_for_apps_naming_none(
    settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    chosen = settings.model_copy(update={"default_python_runtime": "python3.12"})
    build = make_build(chosen, object_store, tmp_path / "builds")
    done = build(tar_of({**APP, "requirements.txt": ""}, tmp_path / "src.tar"))
    assert done.result.runtime == "python3.12"
    assert any("(python3.12, x86_64)" in line for line in done.lines)


def test_nothing_written_outside_the_workdir(settings: Settings, tmp_path: Path) -> None:
    evil = tar_of({**APP, "../escape.py": "x", "requirements.txt": ""}, tmp_path / "evil.tar")
    before = set(tmp_path.rglob("*"))
    with pytest.raises(BuildFailed, match="a path with '..'"):
        build_source(
            evil,
            app_name="x",
            workdir=tmp_path / "work",
            settings=settings,
            store=None,
            log=lambda _: None,
        )
    written = {
        p for p in set(tmp_path.rglob("*")) - before if not p.is_relative_to(tmp_path / "work")
    }
    assert written == set()


def test_app_without_dependencies(build: BuildFn, tmp_path: Path) -> None:
    files = {
        **APP,
        "requirements.txt": "# nothing yet\n",
        ".git/config": "x",
        "a/__pycache__/b.pyc": "x",
    }
    done = build(tar_of(files, tmp_path / "src.tar"))
    assert "-----> No dependencies declared in requirements.txt" in done.lines
    assert zip_names(done.result.artifact_path) == ["Procfile", "app.py", "requirements.txt"]


def test_the_log_names_the_release_phase_apart_from_the_functions(
    build: BuildFn, tmp_path: Path
) -> None:
    procfile = "web: app.handler\nrelease: app.migrate\nworker: app.handler\n"
    files = {**APP, "Procfile": procfile, "requirements.txt": ""}
    done = build(tar_of(files, tmp_path / "src.tar"))
    assert (
        "-----> Procfile declares 2 function(s): web, worker, and a release phase: app.migrate"
    ) in done.lines


def test_version_files_that_disagree_are_warned_about_in_the_log(
    build: BuildFn, tmp_path: Path
) -> None:
    files = {**APP, "requirements.txt": "", ".python-version": "3.12", "runtime.txt": "python-3.11"}
    done = build(tar_of(files, tmp_path / "src.tar"))
    assert done.result.runtime == "python3.12"
    assert (
        " !     runtime.txt names python3.11 but .python-version names python3.12: building for "
        "python3.12 (from .python-version) and ignoring runtime.txt; delete runtime.txt "
        "(Heroku deprecated it for .python-version)"
    ) in done.lines


def test_a_runtime_requires_python_excludes_is_refused_before_installing(
    build: BuildFn, settings: Settings, tmp_path: Path
) -> None:
    pyproject = '[project]\nname = "app"\nversion = "1"\nrequires-python = ">=3.12"\n'
    files = {**APP, "pyproject.toml": pyproject, "runtime.txt": "python-3.11"}
    message = _build_fails(build, tmp_path, files)
    assert message.startswith(
        "pyproject.toml requires-python '>=3.12' does not admit python3.11 (from runtime.txt)"
    )
    assert not settings.data_dir.exists()  # refused before any download


def test_cancel_stops_the_installer(tmp_path: Path) -> None:
    cancel = threading.Event()

    def log(line: str) -> None:
        if "Installing wheels" in line:
            cancel.set()

    files = {**APP, "requirements.txt": "numpy\npandas\n"}
    with pytest.raises(BuildFailed, match="^build cancelled$"):
        build_source(
            tar_of(files, tmp_path / "src.tar"),
            app_name="x",
            workdir=tmp_path / "work",
            settings=Settings(data_dir=tmp_path / "data"),
            store=None,
            log=log,
            cancel=cancel,
        )


def test_git_archive_with_a_link_to_the_hosts_passwd(build: BuildFn, tmp_path: Path) -> None:
    """A pushed repository holding `passwd -> /etc/passwd` must not ship the build host's file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in {**APP, "requirements.txt": ""}.items():
        (repo / name).write_text(text)
    (repo / "passwd").symlink_to("/etc/passwd")
    (repo / "alias.py").symlink_to("app.py")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    tarball = tmp_path / "source.tar.gz"
    subprocess.run([*git, "archive", "--format=tar.gz", "-o", str(tarball), "HEAD"], check=True)
    done = build(tarball)
    names = zip_names(done.result.artifact_path)
    assert "passwd" not in names
    assert "alias.py" in names
    assert "       dropped symlink passwd -> /etc/passwd: it points outside the repository" in (
        done.lines
    )


def _git(repo: Path, *args: str) -> None:
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(
        [*git, "-c", "protocol.file.allow=always", *args], check=True, capture_output=True
    )


def _pushed_tarball(app: Path, tmp_path: Path) -> Path:
    """The fixture app committed as a repository's root and archived as the receiver does."""
    repo = tmp_path / "repo"
    shutil.copytree(app, repo, symlinks=True)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    tarball = tmp_path / "source.tar.gz"
    _git(repo, "archive", "--format=tar.gz", "-o", str(tarball), "HEAD")
    return tarball


def _interpreter(runtime: str) -> Path:
    """The machine's interpreter for a Lambda Python runtime (pyenv's, else one on PATH)."""
    version = runtime.removeprefix("python")
    found = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python{version}"))
    which = shutil.which(f"python{version}")
    if not found and which is None:
        pytest.skip(f"no python{version} on this machine to import the handler with")
    return found[-1] if found else Path(str(which))


C04 = APPS / "c04-symlinked-shared-dir"


def test_case_c04_symlinks_stay_links_in_the_fixture() -> None:
    """The fixture keeps its links as links in git (mode 120000), as the case describes."""
    listed = subprocess.run(
        ["git", "-C", str(C04), "ls-files", "-s", "shared", "config.json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed[0::4] == ["120000", "120000"]
    assert (C04 / "shared").readlink() == Path("libs/shared")
    assert (C04 / "config.json").readlink() == Path("settings/prod.json")


def test_case_c04_symlinked_shared_dir_ships_as_files(build: BuildFn, tmp_path: Path) -> None:
    """Case c04: `shared -> libs/shared` and `config.json -> settings/prod.json` are followed."""
    done = build(_pushed_tarball(C04, tmp_path), app_name="billing")
    assert done.result.procfile == {"charge": "billing.handler"}
    root = tmp_path / "artifact"
    with zipfile.ZipFile(done.result.artifact_path) as archive:
        names = archive.namelist()
        archive.extractall(root)
        assert archive.read("shared/money.py") == (C04 / "libs/shared/money.py").read_bytes()
        assert archive.read("config.json") == b'{"currency": "EUR"}\n'
    assert {"shared/__init__.py", "shared/money.py", "config.json", "billing.py"} <= set(names)
    assert not [line for line in done.lines if "dropped symlink" in line]

    python = _interpreter(done.result.runtime)
    script = "import billing; print(json.dumps(billing.handler({'amount': '12.34'}, None)))"
    out = subprocess.run(
        [str(python), "-I", "-c", f"import sys, json; sys.path.insert(0, {str(root)!r}); {script}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == {"cents": 1234, "currency": "EUR"}


def test_a_submodule_is_named_in_the_build_log(build: BuildFn, tmp_path: Path) -> None:
    sdk = tmp_path / "sdk"
    sdk.mkdir()
    (sdk / "sdk.py").write_text("X = 1\n")
    _git(sdk, "init", "-q")
    _git(sdk, "add", "-A")
    _git(sdk, "commit", "-qm", "sdk")
    app = tmp_path / "app"
    app.mkdir()
    for name, text in {**APP, "requirements.txt": ""}.items():
        (app / name).write_text(text)
    _git(app, "init", "-q")
    _git(app, "submodule", "add", "-q", str(sdk), "vendor/sdk")
    _git(app, "add", "-A")
    _git(app, "commit", "-qm", "with a submodule")
    tarball = tmp_path / "source.tar.gz"
    _git(app, "archive", "--format=tar.gz", "-o", str(tarball), "HEAD")
    done = build(tarball)
    assert (
        f" !     submodule vendor/sdk ({sdk}) is not included: laambda builds only this "
        "repository's own files and does not fetch submodules; copy its files into the "
        "repository or install it as a dependency"
    ) in done.lines
