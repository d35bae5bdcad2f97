"""Packing a working tree into the gzip'd tar file `laambda deploy` uploads.

Inside a git repository the source is what `git push` would send: `git archive HEAD` (of the
folder asked for, when it is below the repository's top), with the commit's sha. Elsewhere it is
the folder's files that git would not ignore: `git ls-files --others --exclude-standard` run
against a throwaway repository honours every `.gitignore` in the tree exactly as git does;
without git installed, only `.git` folders are left out (and the user is told).

Either way, symlinks the server would refuse in an upload (laambda/building/source_check.py: ones
leading out of the folder, or looping) are left out of the tarball, each with a warning naming
it, as a `git push` of the same tree drops them with a line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from laambda.building.empty_tar import empty_archive
from laambda.building.source_check import known_paths, link_inside, relative, resolve_link
from laambda.cli.client import CliError


@dataclass(frozen=True)
class Packed:
    """The tarball written, what it came from (for people) and the commit it holds, if any."""

    tarball: Path
    origin: str
    commit: str | None
    warnings: tuple[str, ...] = ()


def _git(folder: Path, *args: str, env: dict[str, str] | None = None) -> str | None:
    """git's standard output, or None when it failed (or git is not installed)."""
    if shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", *args],
        cwd=folder,
        capture_output=True,
        check=False,
        env=(os.environ | env) if env else None,
    )
    return done.stdout.decode("utf-8", "surrogateescape") if done.returncode == 0 else None


def pack(folder: Path, tarball: Path) -> Packed:
    """Write `folder`'s source to `tarball` (gzip'd tar, files at its top); CliError when the
    folder is missing or a repository without a commit."""
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder")
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if inside is not None and inside.strip() == "true":
        packed = _archive(folder, tarball)
    else:
        packed = _plain(folder, tarball)
    left_out = _leave_out_links(tarball)
    if not left_out:
        return packed
    return Packed(packed.tarball, packed.origin, packed.commit, packed.warnings + left_out)


_LEFT_OUT = {
    "outside": "it points outside the folder",
    "loop": "it loops (the links lead into one another)",
    "holder": "it points at a folder that holds it",
}


def _leave_out_links(tarball: Path) -> tuple[str, ...]:
    """Rewrite `tarball` without the symlinks an upload may not hold; a warning for each.
    An empty tree's archive (laambda/building/empty_tar.py) holds none: it is sent as it is,
    and the server's detection says what it looked for."""
    if empty_archive(tarball):
        return ()
    with tarfile.open(tarball, "r:gz") as archive:
        members = archive.getmembers()
    links = {relative(m.name): m.linkname for m in members if m.issym()}
    known = known_paths([relative(m.name) for m in members])
    dropped: dict[str, str] = {}
    for name, target in links.items():
        outcome = (
            "outside" if not link_inside(name, target) else resolve_link(name, links, known)[0]
        )
        if outcome in _LEFT_OUT:
            dropped[name] = outcome
    if not dropped:
        return ()
    kept = tarball.with_name(tarball.name + ".kept")
    with tarfile.open(tarball, "r:gz") as source, tarfile.open(kept, "w:gz") as out:
        for member in source:
            if member.issym() and relative(member.name) in dropped:
                continue
            out.addfile(member, source.extractfile(member) if member.isfile() else None)
    kept.replace(tarball)
    return tuple(
        f"left out symlink {name} -> {links[name]}: {_LEFT_OUT[why]}"
        for name, why in sorted(dropped.items())
    )


def _archive(folder: Path, tarball: Path) -> Packed:
    commit = _git(folder, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if not commit:
        raise CliError(
            f"{folder} is in a git repository without a commit: commit your files first "
            "(`laambda deploy` sends the last commit, as `git push` would)"
        )
    commit = commit.strip()
    prefix = (_git(folder, "rev-parse", "--show-prefix") or "").strip().rstrip("/")
    tree = f"{commit}:{prefix}" if prefix else commit
    top = (_git(folder, "rev-parse", "--show-toplevel") or "").strip() or str(folder)
    done = subprocess.run(
        # from the top: below it, git archive takes only what is under the current folder
        ["git", "archive", "--format=tar.gz", "-o", str(tarball.resolve()), tree],
        cwd=top,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CliError(f"git archive failed: {done.stderr.strip()}")
    warnings = []
    if _git(folder, "status", "--porcelain", "--untracked-files=no", "."):
        warnings.append(
            "uncommitted changes are not deployed: `laambda deploy` sends the last commit "
            f"({commit[:7]}); commit them first"
        )
    where = f"git archive {commit[:7]}" + (f":{prefix}" if prefix else "")
    return Packed(tarball, where, commit, tuple(warnings))


def _plain(folder: Path, tarball: Path) -> Packed:
    names = _unignored(folder)
    warnings: tuple[str, ...] = ()
    if names is None:
        names = _everything(folder)
        warnings = ("git is not installed: .gitignore is not honoured, every file is sent",)
    with tarfile.open(tarball, "w:gz") as archive:
        for name in sorted(names):
            archive.add(folder / name, arcname=name, recursive=False)
    return Packed(tarball, f"the files of {folder}", None, warnings)


def _unignored(folder: Path) -> list[str] | None:
    """The folder's files (relative, `/`-separated) that git would not ignore, by asking git
    with a throwaway repository whose work tree is `folder`; None without git."""
    if shutil.which("git") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="laambda-pack-") as scratch:
        gitdir = Path(scratch) / "git"
        if _git(Path(scratch), "init", "--quiet", "--bare", str(gitdir)) is None:
            return None
        env = {"GIT_DIR": str(gitdir), "GIT_WORK_TREE": str(folder.resolve())}
        listed = _git(folder, "ls-files", "-z", "--others", "--exclude-standard", env=env)
    if listed is None:
        return None
    return [name for name in listed.split("\0") if name and not _in_git_dir(name)]


def _everything(folder: Path) -> list[str]:
    names = []
    for path in folder.rglob("*"):
        name = path.relative_to(folder).as_posix()
        if not path.is_dir() and not _in_git_dir(name):
            names.append(name)
    return names


def _in_git_dir(name: str) -> bool:
    return ".git" in name.split("/")
