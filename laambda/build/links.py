"""In-repository symlinks, followed: each is replaced by a copy of what it points at.

A repository may share code through symlinks (`shared -> libs/shared`, `config.json ->
settings/prod.json`). Lambda runs what the zip holds, and a zip holds files, so the unpacked tree
is made to hold files: every symlink left after unpacking (all of them stay inside the tree) is
measured first, with what it expands to counted against the unpacked-size limit, and only then
copied. A link that would expand into a folder holding it (a loop) or points at nothing is
dropped with a line saying so; nothing is written before the whole expansion fits the limits.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from laambda.domain.limits import MAX_ZIP_ENTRIES
from laambda.errors import BuildFailed

Log = Callable[[str], None]


_MAX_STEPS = 4 * MAX_ZIP_ENTRIES


class LinksTooLarge(Exception):
    """The tree with its links followed is over a limit; the totals met when the walk stopped."""

    def __init__(self, size: int, entries: int) -> None:
        super().__init__(f"{size} bytes, {entries} entries")
        self.size = size  # bytes
        self.entries = entries  # files and folders


class _Loop(Exception):
    def __init__(self, link: Path) -> None:
        super().__init__(str(link))
        self.link = link


class _Measure:
    """Walks the tree as the zip will see it: links followed, loops found, bytes counted."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries = 0
        self.steps = 0  # never reset: bounds the time spent finding loops
        self.loops: dict[Path, str] = {}  # the link (its real location) -> what it points at
        self.dangling: dict[Path, str] = {}

    def run(self) -> None:
        self._visit(self.root, [self.root], [])

    def _count(self, size: int) -> None:
        self.bytes += size
        self.entries += 1
        self.steps += 1
        if self.bytes > self.max_bytes or self.entries > MAX_ZIP_ENTRIES:
            raise LinksTooLarge(self.bytes, self.entries)
        if self.steps > _MAX_STEPS:
            raise BuildFailed(
                "the repository's symlinks take too long to follow (they lead into one another "
                "over and over): remove the links that point back at folders holding them"
            )

    def _visit(self, directory: Path, chain: list[Path], via: list[Path]) -> None:
        for name in sorted(os.listdir(directory)):
            path = directory / name
            if path in self.loops or path in self.dangling:
                continue
            if path.is_symlink():
                self._follow(path, chain, via)
            elif path.is_dir():
                if path in chain:  # re-entered through a link further up
                    raise _Loop(via[-1])
                self._count(0)
                self._visit(path, [*chain, path], via)
            elif path.is_file():
                self._count(path.stat().st_size)

    def _follow(self, link: Path, chain: list[Path], via: list[Path]) -> None:
        target = link.resolve()
        if target.is_file():
            self._count(target.stat().st_size)
        elif not target.is_dir():
            self.dangling[link] = os.readlink(link)
        elif target in chain:
            self.loops[link] = os.readlink(link)
        else:
            before = (self.bytes, self.entries)
            try:
                self._count(0)
                self._visit(target, [*chain, target], [*via, link])
            except _Loop as loop:
                if loop.link != link:
                    raise
                self.bytes, self.entries = before
                self.loops[link] = os.readlink(link)


def follow_links(root: Path, *, max_bytes: int, log: Log) -> None:
    """Replace every symlink under `root` (a resolved path) by a copy of its target.

    Raises LinksTooLarge, before anything is copied, when the tree with its links followed would
    hold more than `max_bytes` bytes or more files than a Lambda zip can (MAX_ZIP_ENTRIES), and
    BuildFailed when the links lead into one another too often to be followed in bounded time.
    Expects every link to stay inside `root` (unpack drops the others first).
    """
    links = sorted(
        Path(dirpath, name)
        for dirpath, dirnames, filenames in os.walk(root)
        for name in (*dirnames, *filenames)
        if Path(dirpath, name).is_symlink()
    )
    if not links:
        return
    measure = _Measure(root, max_bytes)
    measure.run()
    for link, target in sorted(measure.loops.items()):
        log(
            f"       dropped symlink {link.relative_to(root)} -> {target}: it points at a folder "
            "that holds it, so following it would never end"
        )
        link.unlink()
    for link, target in sorted(measure.dangling.items()):
        log(
            f"       dropped symlink {link.relative_to(root)} -> {target}: "
            "what it points at is not in the repository"
        )
        link.unlink()
    for link in links:
        if not link.is_symlink():  # dropped above
            continue
        real = link.resolve()
        link.unlink()
        if real.is_dir():
            shutil.copytree(real, link, symlinks=False, ignore_dangling_symlinks=True)
        else:
            shutil.copyfile(real, link)
            link.chmod(real.stat().st_mode & 0o777)
