"""In-repository symlinks, followed: each is replaced by a copy of what it points at.

A repository may share code through symlinks (`shared -> libs/shared`, `config.json ->
settings/prod.json`). Lambda runs what the zip holds, and a zip holds files, so the unpacked tree
is made to hold files. The tree is first walked as the zip would see it, every link resolved
once with all links in place: what each link expands to is counted against the unpacked-size
limit, and links that leave the tree, point at nothing or lead back into a folder holding them
(a loop) are dropped with a line saying so. Only when the whole expansion fits is anything
copied, and the copies are made from that one walk's plan, so what is written is what was
counted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from laambda.domain.limits import MAX_ZIP_ENTRIES
from laambda.errors import BuildFailed

Log = Callable[[str], None]
_MAX_STEPS = 4 * MAX_ZIP_ENTRIES  # files and folders visited by all walks together
_WHY = {
    "outside": "it points outside the repository",
    "dangling": "what it points at is not in the repository",
    "loop": "it points at a folder that holds it, so following it would never end",
}


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


class _Walk:
    """One walk of the tree with links followed, skipping the links already found wanting."""

    def __init__(self, root: Path, max_bytes: int, skipped: set[Path], steps: list[int]) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.skipped = skipped
        self.steps = steps  # shared by every walk: bounds the time spent finding loops
        self.bytes = 0
        self.entries = 0
        self.plan: list[tuple[str, Path | None]] = []  # (path in the tree, file to copy | folder)
        self.found: dict[Path, str] = {}  # link (its real location) -> why it is dropped

    def run(self) -> None:
        self._visit(self.root, "", [self.root], [])

    def _count(self, size: int) -> None:
        self.bytes += size
        self.entries += 1
        self.steps[0] += 1
        if self.bytes > self.max_bytes or self.entries > MAX_ZIP_ENTRIES:
            raise LinksTooLarge(self.bytes, self.entries)
        if self.steps[0] > _MAX_STEPS:
            raise BuildFailed(
                "the repository's symlinks take too long to follow (they lead into one another "
                "over and over): remove the links that point back at folders holding them"
            )

    def _visit(self, directory: Path, out: str, chain: list[Path], via: list[Path]) -> None:
        for name in sorted(os.listdir(directory)):
            path, relative = directory / name, f"{out}{name}"
            if path in self.skipped or path in self.found:
                continue
            if path.is_symlink():
                self._follow(path, relative, chain, via)
            elif path.is_dir():
                if path in chain:  # re-entered through a link further up
                    raise _Loop(via[-1])
                self._count(0)
                if via:
                    self.plan.append((relative, None))
                self._visit(path, f"{relative}/", [*chain, path], via)
            elif path.is_file():
                self._count(path.stat().st_size)
                if via:
                    self.plan.append((relative, path))

    def _follow(self, link: Path, relative: str, chain: list[Path], via: list[Path]) -> None:
        target = link.resolve()
        if target != self.root and self.root not in target.parents:
            self.found[link] = "outside"
        elif target.is_file():
            self._count(target.stat().st_size)
            self.plan.append((relative, target))
        elif not target.is_dir():
            self.found[link] = "dangling"
        elif target in chain:
            self.found[link] = "loop"
        else:
            before = (self.bytes, self.entries, len(self.plan))
            try:
                self._count(0)
                self.plan.append((relative, None))
                self._visit(target, f"{relative}/", [*chain, target], [*via, link])
            except _Loop as loop:
                if loop.link != link:
                    raise
                self.bytes, self.entries = before[0], before[1]
                del self.plan[before[2] :]
                self.found[link] = "loop"


def follow_links(root: Path, *, max_bytes: int, log: Log) -> None:
    """Replace every symlink under `root` (a resolved path) by a copy of what it points at.

    Raises LinksTooLarge, before anything is copied, when the tree with its links followed would
    hold more than `max_bytes` bytes or more files than a Lambda zip can (MAX_ZIP_ENTRIES), and
    BuildFailed when the links lead into one another too often to be followed in bounded time.
    Links that cannot be followed are removed, each with a line to `log`.
    """
    links = sorted(
        Path(dirpath, name)
        for dirpath, dirnames, filenames in os.walk(root)
        for name in (*dirnames, *filenames)
        if Path(dirpath, name).is_symlink()
    )
    if not links:
        return
    dropped: dict[Path, str] = {}
    steps = [0]
    while True:  # a loop found changes what later links expand to: walk again without it
        walk = _Walk(root, max_bytes, set(dropped), steps)
        walk.run()
        if not walk.found:
            break
        dropped.update(walk.found)
    for link, why in sorted(dropped.items()):
        log(
            f"       dropped symlink {link.relative_to(root).as_posix()} -> "
            f"{os.readlink(link)}: {_WHY[why]}"
        )
    for link in links:
        link.unlink()
    for relative, source in walk.plan:
        path = root / relative
        if source is None:
            path.mkdir(exist_ok=True)
        else:
            shutil.copyfile(source, path)
            path.chmod(source.stat().st_mode & 0o777)
