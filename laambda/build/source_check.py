"""The rules a source tarball must meet, checked member by member without extracting anything.

One set of rules for every way source arrives: a `git push` (checked when the worker unpacks
it, laambda/build/unpack.py) and an upload through the API (checked before it is stored,
laambda/api/routes/builds.py), which adds two rules a git archive always meets: symlinks
leaving the tree are refused rather than dropped, and the number of entries is capped.

Members are read one header at a time and the totals checked as they grow, so a tarball that
claims gigabytes or millions of entries is refused after reading no more than the limits allow
(tarfile skips a member's data by decompressing it: at most `max_unpacked_bytes` in all).
"""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path

from laambda.errors import BuildFailed

MB = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class SourceRefused(BuildFailed):
    """The source tarball itself was refused (size, shape or damage): it is not kept."""


@dataclass(frozen=True)
class SourceLimits:
    """What a source tarball may hold: bytes of files once unpacked, entries (files, folders and
    links; None: no cap), and whether a symlink leaving the tree refuses the whole tarball
    (uploads) or is only dropped when unpacking (pushes: a repository may hold one)."""

    max_unpacked_bytes: int
    max_entries: int | None = None
    refuse_outside_links: bool = False


def human_size(size: int) -> str:
    """A byte count for people: "512 bytes", "3.4 KB", "1.9 MB"; whole units without decimals."""
    for unit, scale in (("MB", MB), ("KB", 1024)):
        if size >= scale:
            return f"{size // scale} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit}"
    return f"{size} byte" + ("" if size == 1 else "s")


def clean_name(name: str) -> str:
    """The member's path relative to the tree, or SourceRefused when it would leave the tree."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SourceRefused(
            f"the source archive holds an absolute path '{name}'; refused: every path must be "
            "relative to the top of the source"
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SourceRefused(
            f"the source archive holds a path with '..': '{name}'; refused: no path may "
            "climb out of the source"
        )
    return "/".join(parts)


def relative(name: str) -> str:
    """`name` without empty and `.` parts."""
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def link_inside(name: str, target: str) -> bool:
    """Whether a symlink at `name` pointing at `target` stays inside the tree (by its words;
    chains of links are checked again once they exist, laambda/build/unpack.py)."""
    if target.startswith("/"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    return resolved != ".." and not resolved.startswith("../")


def check_members(
    archive: tarfile.TarFile, limits: SourceLimits
) -> list[tuple[tarfile.TarInfo, str]]:
    """Every member of `archive` with its cleaned path, in archive order, each checked against
    `limits` as it is read. Raises SourceRefused naming the first member that breaks a rule:
    an absolute path, a `..` part, a device, FIFO or other special file, a hard link to
    anything but a file earlier in the archive, a symlink leaving the tree (when
    `refuse_outside_links`), more entries than `max_entries`, or more file bytes than
    `max_unpacked_bytes`; or a damaged archive."""
    checked: list[tuple[tarfile.TarInfo, str]] = []
    files: set[str] = set()
    total = 0
    try:
        while (member := archive.next()) is not None:
            if limits.max_entries is not None and len(checked) >= limits.max_entries:
                raise SourceRefused(
                    f"the source archive holds more than {limits.max_entries} files, folders "
                    "and links, over the limit: leave build outputs, dependencies and data "
                    "out of it"
                )
            name = clean_name(member.name)
            _check_kind(member, name, files, limits)
            if member.isfile():
                files.add(name)
                total += member.size
                if total > limits.max_unpacked_bytes:
                    # counted so far: reading stops here, the rest is never decompressed
                    raise SourceRefused(
                        f"the source unpacks to {human_size(total)}, over the limit of "
                        f"{human_size(limits.max_unpacked_bytes)}: keep build outputs, data "
                        "files and vendored dependencies out of the repository"
                    )
            checked.append((member, name))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceRefused(f"the source archive is damaged: {exc}") from None
    return checked


def _check_kind(member: tarfile.TarInfo, name: str, files: set[str], limits: SourceLimits) -> None:
    if member.isdir() or member.isfile():
        return
    if member.issym():
        if limits.refuse_outside_links and not link_inside(name, member.linkname):
            raise SourceRefused(
                f"the source archive holds a symlink '{name}' -> '{member.linkname}', which "
                "points outside the source; refused: links may only point at the source's "
                "own files"
            )
        return
    if member.islnk():
        source = posixpath.normpath("/" + member.linkname).lstrip("/")
        outside = member.linkname.startswith("/") or source != relative(member.linkname)
        if outside or source not in files:
            raise SourceRefused(
                f"the source archive holds a hard link '{name}' to '{member.linkname}', "
                "which is not a file of the repository; refused"
            )
        return
    raise SourceRefused(
        f"the source archive holds '{name}', a device, FIFO or other special file; "
        "only files, folders and links may be pushed or uploaded"
    )


def check_upload(tarball: Path, limits: SourceLimits) -> int:
    """Check an uploaded source (a gzip'd tar file) by `limits` without extracting it; returns
    its number of entries. Raises SourceRefused when it is not a gzip'd tar file or breaks a
    rule of `check_members`. The upload's own size is capped while it is received."""
    with open(tarball, "rb") as head:
        if head.read(2) != GZIP_MAGIC:
            raise SourceRefused(
                "the upload is not a gzip'd tar file: send `tar -czf - .` or "
                "`git archive --format=tar.gz HEAD` (Content-Type: application/gzip)"
            )
    try:
        archive = tarfile.open(tarball, mode="r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceRefused(f"the upload cannot be read as a gzip'd tar file: {exc}") from None
    with archive:
        return len(check_members(archive, limits))
