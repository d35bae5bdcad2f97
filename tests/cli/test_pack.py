"""What `laambda deploy` sends: the last commit inside a repository, else the files .gitignore
leaves; read back from the tarball it writes."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from laambda.cli.client import CliError
from laambda.cli.pack import pack

GIT = ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com"]


def _names(tarball: Path) -> set[str]:
    with tarfile.open(tarball, "r:gz") as archive:
        return {m.name for m in archive.getmembers() if not m.isdir()}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_subfolder_of_a_repository_is_sent_from_its_own_top(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo", {"README": "x", "svc/Procfile": "web: a.h\n", "svc/a.py": ""})
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "one"], cwd=repo, check=True)
    packed = pack(repo / "svc", tmp_path / "out.tar.gz")
    assert _names(packed.tarball) == {"Procfile", "a.py"}
    assert packed.commit is not None
    assert len(packed.commit) == 40
    assert packed.origin == f"git archive {packed.commit[:7]}:svc"
    assert packed.warnings == ()


def test_a_repository_without_a_commit_is_refused(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo", {"a.py": ""})
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    with pytest.raises(CliError, match="in a git repository without a commit"):
        pack(repo, tmp_path / "out.tar.gz")


def test_without_git_everything_but_dot_git_is_sent_and_the_user_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _tree(
        tmp_path / "plain",
        {".gitignore": "secret\n", "secret": "x", "a.py": "", ".git/config": "", "lib/b.py": ""},
    )
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries-here"))
    packed = pack(folder, tmp_path / "out.tar.gz")
    assert _names(packed.tarball) == {".gitignore", "secret", "a.py", "lib/b.py"}
    assert packed.warnings == (
        "git is not installed: .gitignore is not honoured, every file is sent",
    )


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="is not a folder"):
        pack(tmp_path / "missing", tmp_path / "out.tar.gz")


@pytest.mark.parametrize("git", [False, True])
def test_links_the_server_refuses_are_left_out_with_a_warning(tmp_path: Path, git: bool) -> None:
    """A plain folder (or a repository) with a stray link out deploys without it, as a push of
    the same tree drops it; links inside are kept for the server to follow."""
    folder = _tree(tmp_path / "plain", {"app.py": "A", "lib/real.py": "R"})
    (folder / "passwdlink").symlink_to("/etc/passwd")
    (folder / "up").symlink_to("../..")
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    (folder / "alias.py").symlink_to("lib/real.py")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
        subprocess.run(["git", "add", "-A"], cwd=folder, check=True)
        subprocess.run([*GIT, "commit", "-qm", "one"], cwd=folder, check=True)
    packed = pack(folder, tmp_path / "out.tar.gz")
    assert _names(packed.tarball) == {"app.py", "lib/real.py", "alias.py"}
    assert packed.warnings == (
        "left out symlink a -> b: it loops (the links lead into one another)",
        "left out symlink b -> a: it loops (the links lead into one another)",
        "left out symlink passwdlink -> /etc/passwd: it points outside the folder",
        "left out symlink up -> ../..: it points outside the folder",
    )
    with tarfile.open(packed.tarball, "r:gz") as archive:
        assert archive.getmember("alias.py").linkname == "lib/real.py"
        assert archive.extractfile("app.py").read() == b"A"  # type: ignore[union-attr]
