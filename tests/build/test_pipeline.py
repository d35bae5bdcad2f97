"""Every bad input gives its message, fast, and nothing is written outside the build's folder."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from laambda.build.pipeline import build_source
from laambda.config import Settings
from laambda.errors import BuildFailed
from tests.build.conftest import BuildFn, tar_of, zip_names

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
