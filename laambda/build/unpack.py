"""Unpack a pushed source tarball without trusting it.

A tarball is attacker-shaped input: names may be absolute or climb with `..`, links may point at
the build host's files, and sizes may be bombs. Every member is checked before anything is
written, files are written by us (never by tarfile's extract), and only inside `dest`.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from laambda.errors import BuildFailed

MB = 1024 * 1024


def _clean_name(name: str) -> str:
    """The member's path relative to the tree, or BuildFailed when it would leave the tree."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise BuildFailed(f"the source archive holds an absolute path '{name}'; refused")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BuildFailed(f"the source archive holds a path with '..': '{name}'; refused")
    return "/".join(parts)


def _relative(name: str) -> str:
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _link_inside(name: str, target: str) -> bool:
    """Whether a symlink at `name` pointing at `target` stays inside the tree."""
    if target.startswith("/"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    return resolved != ".." and not resolved.startswith("../")


def _check_size(members: list[tarfile.TarInfo], max_unpacked: int) -> None:
    total = sum(m.size for m in members if m.isfile())
    if total > max_unpacked:
        raise BuildFailed(
            f"the source unpacks to {total / MB:.1f} MB, over the limit of "
            f"{max_unpacked / MB:.0f} MB: keep build outputs, data files and vendored "
            "dependencies out of the repository"
        )


def unpack_source(
    tarball: Path,
    dest: Path,
    *,
    max_source_bytes: int,
    max_unpacked_bytes: int,
    log: Callable[[str], None],
) -> None:
    """Unpack `tarball` into the empty folder `dest`, refusing what could escape it."""
    size = tarball.stat().st_size
    if size > max_source_bytes:
        raise BuildFailed(
            f"the source archive is {size / MB:.1f} MB, over the limit of "
            f"{max_source_bytes / MB:.0f} MB: keep large files out of the repository"
        )
    try:
        archive = tarfile.open(tarball, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BuildFailed(f"the source archive cannot be read as a tar file: {exc}") from None
    with archive:
        try:
            members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BuildFailed(f"the source archive is damaged: {exc}") from None
        _check_size(members, max_unpacked_bytes)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        names = {m.name: _clean_name(m.name) for m in members}
        links: list[tuple[str, str]] = []
        for member in members:
            name = names[member.name]
            if not name:
                continue
            target = root / name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                _write_file(archive, member, target)
            elif member.issym():
                if _link_inside(name, member.linkname):
                    links.append((name, member.linkname))
                else:
                    log(
                        f"       dropped symlink {name} -> {member.linkname}: "
                        "it points outside the repository"
                    )
            elif member.islnk():
                source = posixpath.normpath("/" + member.linkname).lstrip("/")
                outside = member.linkname.startswith("/") or source != _relative(member.linkname)
                if outside or not (root / source).is_file() or (root / source).is_symlink():
                    raise BuildFailed(
                        f"the source archive holds a hard link '{name}' to '{member.linkname}', "
                        "which is not a file of the repository; refused"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / source, target)
                target.chmod((root / source).stat().st_mode & 0o777)
            else:
                raise BuildFailed(
                    f"the source archive holds '{name}', a device, FIFO or other special file; "
                    "only files, folders and links may be pushed"
                )
        for name, linkname in links:
            _make_link(root, name, linkname, log)


def _write_file(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.parent.is_symlink():
        raise BuildFailed(f"the source archive writes '{member.name}' through a link; refused")
    source = archive.extractfile(member)
    if source is None:
        raise BuildFailed(f"the source archive entry '{member.name}' cannot be read")
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, length=MB)
    target.chmod(0o755 if member.mode & 0o111 else 0o644)


def _make_link(root: Path, name: str, linkname: str, log: Callable[[str], None]) -> None:
    """Make an in-tree symlink, re-checked after all links exist (chains may still escape)."""
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        return
    os.symlink(linkname, target)
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        target.unlink()
        log(f"       dropped symlink {name} -> {linkname}: it points outside the repository")
