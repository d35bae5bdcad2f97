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
from dataclasses import dataclass
from pathlib import Path

from laambda.errors import BuildFailed

Log = Callable[[str], None]
# Bounds on the walk's time, far above real repositories (a zip holds at most 65,535 files; a
# committed node_modules, left out of the zip, may hold more)
MAX_TREE_ENTRIES = 500_000  # files and folders of the tree with its links followed
_MAX_STEPS = 2 * MAX_TREE_ENTRIES  # files and folders visited by all walks together
_WHY = {
    "outside": "it points outside the repository",
    "dangling": "what it points at is not in the repository",
    "loop": "it points at a folder that holds it, so following it would never end",
    "eloop": "it loops: the links lead into one another, so it points at nothing",
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


@dataclass(frozen=True)
class _Item:
    """One entry of a real folder: a file, a folder, or a link and what it resolves to."""

    path: Path  # where it is (its folder is a real one)
    kind: str  # "file", "dir", "link-file", "link-dir", "outside", "dangling" or "eloop"
    target: Path  # the real file or folder (itself when not a link)
    size: int  # bytes of the file it is or points at


class _Tree:
    """The real folders' entries, each read and each link resolved once, for every walk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._listings: dict[Path, list[_Item]] = {}

    def listing(self, directory: Path) -> list[_Item]:
        items = self._listings.get(directory)
        if items is None:
            with os.scandir(directory) as entries:
                found = [self._item(directory, entry) for entry in entries]
            items = sorted((i for i in found if i is not None), key=lambda i: i.path.name)
            self._listings[directory] = items
        return items

    def _item(self, directory: Path, entry: os.DirEntry[str]) -> _Item | None:
        path = directory / entry.name
        if entry.is_symlink():
            try:
                target = path.resolve()
            except (RuntimeError, OSError):  # a loop of links (ELOOP)
                return _Item(path, "eloop", path, 0)
            if target != self.root and self.root not in target.parents:
                return _Item(path, "outside", target, 0)
            if target.is_file():
                return _Item(path, "link-file", target, target.stat().st_size)
            return _Item(path, "link-dir" if target.is_dir() else "dangling", target, 0)
        if entry.is_dir(follow_symlinks=False):
            return _Item(path, "dir", path, 0)
        if entry.is_file(follow_symlinks=False):
            return _Item(path, "file", path, entry.stat(follow_symlinks=False).st_size)
        return None


class _Walk:
    """One walk of the tree with links followed, skipping the links already found wanting."""

    def __init__(self, tree: _Tree, max_bytes: int, skipped: set[Path], steps: list[int]) -> None:
        self.tree = tree
        self.max_bytes = max_bytes
        self.skipped = skipped
        self.steps = steps  # shared by every walk: bounds the time spent finding loops
        self.bytes = 0
        self.entries = 0
        self.plan: list[tuple[str, Path | None]] = []  # (path in the tree, file to copy | folder)
        self.found: dict[Path, str] = {}  # link (its real location) -> why it is dropped

    def run(self) -> None:
        self._visit(self.tree.root, "", [self.tree.root], [])

    def _count(self, size: int) -> None:
        self.bytes += size
        self.entries += 1
        self.steps[0] += 1
        if self.bytes > self.max_bytes or self.entries > MAX_TREE_ENTRIES:
            raise LinksTooLarge(self.bytes, self.entries)
        if self.steps[0] > _MAX_STEPS:
            raise BuildFailed(
                "the repository's symlinks take too long to follow (they lead into one another "
                "over and over): remove the links that point back at folders holding them"
            )

    def _visit(self, directory: Path, out: str, chain: list[Path], via: list[Path]) -> None:
        for item in self.tree.listing(directory):
            relative = out + item.path.name
            if item.path in self.skipped or item.path in self.found:
                continue
            if item.kind in ("file", "link-file"):
                self._count(item.size)
                if via or item.kind == "link-file":
                    self.plan.append((relative, item.target))
            elif item.kind == "dir":
                if item.path in chain:  # re-entered through a link further up
                    raise _Loop(via[-1])
                self._count(0)
                if via:
                    self.plan.append((relative, None))
                self._visit(item.path, relative + "/", [*chain, item.path], via)
            elif item.kind == "link-dir":
                self._follow(item, relative, chain, via)
            else:
                self.found[item.path] = item.kind

    def _follow(self, link: _Item, relative: str, chain: list[Path], via: list[Path]) -> None:
        if link.target in chain:
            self.found[link.path] = "loop"
            return
        before = (self.bytes, self.entries, len(self.plan))
        try:
            self._count(0)
            self.plan.append((relative, None))
            self._visit(link.target, relative + "/", [*chain, link.target], [*via, link.path])
        except _Loop as loop:
            if loop.link != link.path:
                raise
            self.bytes, self.entries = before[0], before[1]
            del self.plan[before[2] :]
            self.found[link.path] = "loop"


def follow_links(root: Path, *, max_bytes: int, log: Log) -> None:
    """Replace every symlink under `root` (a resolved path) by a copy of what it points at.

    Raises LinksTooLarge, before anything is copied, when the tree with its links followed would
    hold more than `max_bytes` bytes or MAX_TREE_ENTRIES files and folders, and
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
    tree = _Tree(root)
    while True:  # a loop found changes what later links expand to: walk again without it
        walk = _Walk(tree, max_bytes, set(dropped), steps)
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
