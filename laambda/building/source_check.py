"""The rules a source tarball must meet, checked member by member without extracting anything.

One set of rules for every way source arrives: a `git push` (checked when the worker unpacks
it, laambda/building/unpack.py) and an upload through the API (checked before it is stored,
laambda/api/routes/builds.py), which adds two rules a git archive always meets: symlinks
leaving the tree or looping (followed link by link, as the kernel would) are refused rather
than dropped, and the number of entries is capped. On a push those links are dropped when the
tree is unpacked, each with a line; on both, a link to nothing in the tree is dropped so.

Every path and link target is held to what a Linux file system takes: no part over 255 bytes
(NAME_MAX) and no path over MAX_PATH_BYTES, so nothing fails later with "File name too long".

Members are read one header at a time and the totals checked as they grow, so a tarball that
claims gigabytes or millions of entries is refused after reading no more than the limits allow
(tarfile skips a member's data by decompressing it: at most `max_unpacked_bytes` in all).
"""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path

from laambda.building.empty_tar import GZIP_MAGIC, empty_archive
from laambda.errors import BuildFailed

MB = 1024 * 1024
MAX_NAME_BYTES = 255  # one part of a path: NAME_MAX of Linux file systems
# a whole path: Linux's PATH_MAX is 4096 bytes for the path as written, which has the build
# folder (under the data dir) before the source's own path; 1 KB of that is kept for it
MAX_PATH_BYTES = 4096 - 1024
MAX_LINK_HOPS = 40  # links followed to resolve one path: Linux's MAXSYMLINKS, then ELOOP


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
    path = "/".join(parts)
    check_length(path, what="path")
    return path


def shortened(text: str, keep: int = 40) -> str:
    """`text` cut to `keep` characters with its length in bytes, for naming a long entry."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… ({len(text.encode('utf-8', 'surrogateescape'))} bytes)"


def check_length(path: str, *, what: str) -> None:
    """SourceRefused when `path` (a member's name or a link's target, `what` says which) has a
    part over MAX_NAME_BYTES bytes or is over MAX_PATH_BYTES bytes in all (UTF-8)."""
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise SourceRefused(
            f"the source archive holds a {what} '{shortened(path)}' over the limit of "
            f"{MAX_PATH_BYTES} bytes for a whole path; refused: shorten it"
        )
    for part in path.split("/"):
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise SourceRefused(
                f"the source archive holds a {what} '{shortened(path)}' with a name over "
                f"the limit of {MAX_NAME_BYTES} bytes ('{shortened(part)}'); refused: "
                "shorten it"
            )


def relative(name: str) -> str:
    """`name` without empty and `.` parts."""
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def link_inside(name: str, target: str) -> bool:
    """Whether a symlink at `name` pointing at `target` stays inside the tree (by its words;
    chains of links are checked again once they exist, laambda/building/unpack.py)."""
    if target.startswith("/"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    return resolved != ".." and not resolved.startswith("../")


def resolve_link(name: str, links: dict[str, str], known: set[str]) -> tuple[str, str]:
    """Where the symlink at `name` leads in a tree of `known` paths (files and folders, each
    folder also implied by what is in it) with `links` (path -> target), following links as
    the kernel does (at most MAX_LINK_HOPS); nothing is read from disk. Returns (outcome,
    path): "inside" (path: what it leads to, "" for the top), "outside" (it leaves the tree),
    "loop" (links leading into one another: the kernel's ELOOP), "holder" (it leads to a
    folder that holds it, so copying what it points at never ends) or "dangling" (nothing
    of the tree is there)."""
    hops = 0
    done: list[str] = []
    todo = [*posixpath.dirname(name).split("/"), *links[name].split("/")]
    if links[name].startswith("/"):
        return "outside", links[name]
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return "outside", links[name]
            done.pop()
            continue
        here = "/".join([*done, part])
        target = links.get(here)
        if target is None:
            done.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            return "loop", here
        if target.startswith("/"):
            return "outside", target
        todo = [*target.split("/"), *todo]
    path = "/".join(done)
    if path and path not in known:
        return "dangling", path
    if path == "" or name.startswith(path + "/"):
        return "holder", path
    return "inside", path


def known_paths(names: list[str]) -> set[str]:
    """`names` with every folder they imply."""
    known = set(names)
    for name in names:
        parts = name.split("/")
        known.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    return known


def check_members(
    archive: tarfile.TarFile, limits: SourceLimits
) -> list[tuple[tarfile.TarInfo, str]]:
    """Every member of `archive` with its cleaned path, in archive order, each checked against
    `limits` as it is read. Raises SourceRefused naming the first member that breaks a rule:
    an absolute path, a `..` part, a device, FIFO or other special file, a hard link to
    anything but a file earlier in the archive, a symlink leaving the tree (when
    `refuse_outside_links`), a path with a part over MAX_NAME_BYTES or over MAX_PATH_BYTES,
    more entries than `max_entries`, or more file bytes than `max_unpacked_bytes`; or a
    damaged archive. With `refuse_outside_links`, once every member is read, a symlink that
    leaves the tree through other links, or loops (resolve_link), is refused too."""
    checked: list[tuple[tarfile.TarInfo, str]] = []
    files: set[str] = set()
    placed: set[str] = set()  # files, hard links and symlinks, as written
    symlinks: set[str] = set()
    folders: set[str] = set()  # named, or holding a member
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
            _check_place(member, name, placed, folders, symlinks)
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
    if limits.refuse_outside_links:
        _check_link_chains(checked)
    return checked


def _check_link_chains(checked: list[tuple[tarfile.TarInfo, str]]) -> None:
    links = {name: member.linkname for member, name in checked if member.issym()}
    if not links:
        return
    known = known_paths([name for _, name in checked if name])
    for name, target in links.items():
        outcome, _ = resolve_link(name, links, known)
        if outcome == "outside":
            raise SourceRefused(
                f"the source archive holds a symlink '{name}' -> '{target}', which leads "
                "outside the source through other links; refused: links may only point at "
                "the source's own files"
            )
        if outcome in ("loop", "holder"):
            why = (
                "the links lead into one another, so it points at nothing"
                if outcome == "loop"
                else "it points at a folder that holds it, so following it would never end"
            )
            raise SourceRefused(
                f"the source archive holds a symlink '{name}' -> '{target}', which loops "
                f"({why}); refused: remove it"
            )


def _check_place(
    member: tarfile.TarInfo, name: str, files: set[str], folders: set[str], links: set[str]
) -> None:
    """A member may not be both a file and a folder, nor be inside a file or a symlink: no
    file system holds that (it failed the build with "File exists"). `files` (files, hard and
    symbolic links), `folders` and `links` (symlinks) are what came before; updated."""
    parts = name.split("/")
    above = ["/".join(parts[:depth]) for depth in range(1, len(parts))]
    inside = next((path for path in above if path in files), None)
    if inside is not None:
        kind = "symlink" if inside in links else "file"
        raise SourceRefused(
            f"the source archive holds '{shortened(name)}' inside '{shortened(inside)}', which "
            f"it also holds as a {kind}; refused: a path is a {kind} or a folder, not both"
        )
    if (member.isfile() or member.islnk()) and name in folders:
        raise SourceRefused(
            f"the source archive holds '{shortened(name)}' as a file and as a folder; refused: "
            "a path is a file or a folder, not both"
        )
    if member.isdir() and name in files:
        raise SourceRefused(
            f"the source archive holds '{shortened(name)}' as a file and as a folder; refused: "
            "a path is a file or a folder, not both"
        )
    folders.update(above)
    if member.isdir():
        folders.add(name)
    elif member.isfile() or member.islnk():
        files.add(name)
    elif member.issym():
        files.add(name)
        links.add(name)


def _check_kind(member: tarfile.TarInfo, name: str, files: set[str], limits: SourceLimits) -> None:
    if member.isdir() or member.isfile():
        return
    if member.issym() or member.islnk():
        check_length(member.linkname, what="link target")
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
    its number of entries (0 for `git archive` of an empty tree: laambda/building/empty_tar.py,
    left for detection to refuse). Raises SourceRefused when it is not a gzip'd tar file or breaks a
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
        if empty_archive(tarball):
            return 0
        raise SourceRefused(f"the upload cannot be read as a gzip'd tar file: {exc}") from None
    with archive:
        return len(check_members(archive, limits))
