"""Unpack a pushed source tarball without trusting it.

A tarball is attacker-shaped input: names may be absolute or climb with `..`, links may point at
the build host's files, and sizes may be bombs. Every member is checked before anything is
written, files are written by us (never by tarfile's extract), and only inside `dest`.

Symlinks that stay inside the tree are then replaced by copies of what they point at (see
laambda/building/links.py), so every later step, and the artifact, sees plain files.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from laambda.building.empty_tar import empty_archive
from laambda.building.links import MAX_TREE_ENTRIES, LinksTooLarge, follow_links
from laambda.building.source_check import (
    MB,
    SourceLimits,
    SourceRefused,
    check_members,
    human_size,
    known_paths,
    link_inside,
    relative,
    resolve_link,
)
from laambda.errors import BuildFailed

__all__ = ["MB", "SourceRefused", "human_size", "unpack_source"]


def unpack_source(
    tarball: Path,
    dest: Path,
    *,
    max_source_bytes: int,
    max_unpacked_bytes: int,
    log: Callable[[str], None],
    max_entries: int | None = None,
    refuse_outside_links: bool = False,
) -> None:
    """Unpack `tarball` into the empty folder `dest`, refusing what could escape it.

    `max_unpacked_bytes` bounds the tree with its in-tree symlinks followed (each counted as the
    bytes it expands to). Raises SourceRefused (a BuildFailed) for a tarball that is too large,
    damaged or shaped to escape; symlinks leaving the tree, looping or leading to nothing are
    dropped with a line to `log` (an upload has had the first two refused already), and
    git submodules (which `git archive` leaves as empty folders) are reported there too.
    Each member is first checked by the rules of laambda/building/source_check.py (with
    `max_entries` and `refuse_outside_links` as an upload is checked), before anything is written.
    An empty tree's archive, which tarfile cannot open (laambda/building/empty_tar.py), unpacks
    to an empty `dest`: detection then says what it looked for.
    """
    size = tarball.stat().st_size
    if size > max_source_bytes:
        raise SourceRefused(
            f"the source archive is {human_size(size)}, over the limit of "
            f"{human_size(max_source_bytes)}: keep large files out of the repository"
        )
    try:
        archive = tarfile.open(tarball, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        if empty_archive(tarball):  # an empty tree, as git archive writes it
            dest.mkdir(parents=True, exist_ok=True)
            return
        raise SourceRefused(f"the source archive cannot be read as a tar file: {exc}") from None
    limits = SourceLimits(
        max_unpacked_bytes=max_unpacked_bytes,
        max_entries=max_entries,
        refuse_outside_links=refuse_outside_links,
    )
    with archive:
        checked = check_members(archive, limits)
        members = [member for member, _ in checked]
        names = {member.name: name for member, name in checked}
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        links: list[tuple[str, str]] = []
        for member, name in checked:
            if not name:
                continue
            target = root / name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                _write_file(archive, member, target)
            elif member.issym():
                if link_inside(name, member.linkname):
                    links.append((name, member.linkname))
                else:
                    log(
                        f"       dropped symlink {name} -> {member.linkname}: "
                        "it points outside the repository"
                    )
            elif member.islnk():
                _copy_hard_link(root, name, member.linkname)
        looping = _looping(links, [name for _, name in checked if name])
        for name, linkname in links:
            if name in looping:
                log(f"       dropped symlink {name} -> {linkname}: {LOOP}")
            else:
                _make_link(root, name, linkname, log)
    try:
        follow_links(root, max_bytes=max_unpacked_bytes, log=log)
    except LinksTooLarge as exc:
        over = (
            f"more than {human_size(max_unpacked_bytes)}"
            if exc.size > max_unpacked_bytes
            else f"more than {MAX_TREE_ENTRIES} files and folders"
        )
        raise SourceRefused(
            f"the source with its symlinks followed unpacks to {over}, over the limit: each "
            "symlink is shipped as a copy of what it points at; link to less, or keep large "
            "data out of the repository"
        ) from None
    except BuildFailed as exc:
        raise SourceRefused(exc.message) from None
    _report_submodules(root, _empty_folders(members, names), log)


LOOP = "it loops: the links lead into one another, so it points at nothing"


def _looping(links: list[tuple[str, str]], names: list[str]) -> set[str]:
    """The links that lead into one another by the archive's own list (resolve_link); those
    leading to a folder that holds them are dropped when followed (laambda/building/links.py)."""
    table = dict(links)
    known = known_paths(names)
    return {name for name in table if resolve_link(name, table, known)[0] == "loop"}


def _write_file(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.parent.is_symlink():
        raise SourceRefused(f"the source archive writes '{member.name}' through a link; refused")
    source = archive.extractfile(member)
    if source is None:
        raise SourceRefused(f"the source archive entry '{member.name}' cannot be read")
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, length=MB)
    target.chmod(0o755 if member.mode & 0o111 else 0o644)


def _copy_hard_link(root: Path, name: str, linkname: str) -> None:
    source = posixpath.normpath("/" + linkname).lstrip("/")
    outside = linkname.startswith("/") or source != relative(linkname)
    if outside or not (root / source).is_file() or (root / source).is_symlink():
        raise SourceRefused(
            f"the source archive holds a hard link '{name}' to '{linkname}', "
            "which is not a file of the repository; refused"
        )
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / source, target)
    target.chmod((root / source).stat().st_mode & 0o777)


def _make_link(root: Path, name: str, linkname: str, log: Callable[[str], None]) -> None:
    """Make an in-tree symlink, re-checked after all links exist (chains may still escape)."""
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        return
    os.symlink(linkname, target)
    try:
        resolved = target.resolve()
    except (RuntimeError, OSError):  # a loop, or a path the file system cannot take
        target.unlink()
        log(f"       dropped symlink {name} -> {linkname}: {LOOP}")
        return
    if resolved != root and root not in resolved.parents:
        target.unlink()
        log(f"       dropped symlink {name} -> {linkname}: it points outside the repository")


_SUBMODULE = re.compile(r'^\s*\[\s*submodule\s+"(?P<name>[^"]*)"\s*\]')
_KEY = re.compile(r"^\s*(?P<key>path|url)\s*=\s*(?P<value>.*?)\s*$")


def _empty_folders(members: list[tarfile.TarInfo], names: dict[str, str]) -> set[str]:
    """Folders of the archive with nothing in them, by the archive's own list."""
    folders = {names[m.name] for m in members if m.isdir() and names[m.name]}
    for name in names.values():
        parts = name.split("/")
        folders.difference_update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    return folders


def _report_submodules(root: Path, empty: set[str], log: Callable[[str], None]) -> None:
    """Say which git submodules the push leaves out: laambda never fetches them.

    `git archive` writes a submodule (a gitlink) as an empty folder and keeps `.gitmodules`;
    git itself never tracks an empty folder, so each empty folder of the archive is one.
    """
    urls: dict[str, str] = {}
    gitmodules = root / ".gitmodules"
    if gitmodules.is_file() and not gitmodules.is_symlink():
        entry: dict[str, str] = {}
        for line in gitmodules.read_text(encoding="utf-8", errors="replace").splitlines():
            if _SUBMODULE.match(line):
                entry = {}
            elif match := _KEY.match(line):
                entry[match["key"]] = match["value"]
                path = relative(entry.get("path", ""))
                if path and link_inside("", path):
                    urls[path] = entry.get("url", "")
    listed = {path for path in urls if path in empty or not (root / path).exists()}
    for path in sorted(empty | listed):
        source = f" ({urls[path]})" if urls.get(path) else ""
        log(
            f" !     submodule {path}{source} is not included: laambda builds only this "
            "repository's own files and does not fetch submodules; copy its files into the "
            "repository or install it as a dependency"
        )
