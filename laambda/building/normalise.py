"""Make an installed dependency tree a pure function of the dependencies it holds.

Installers leave traces of the host they ran on and of themselves. Before the dependency zip is
written (and cached and shared), this removes or rewrites each of them, so the same commit built
on any host, from any virtualenv at any path, gives the same artifact bytes:

- console scripts in `bin/` start with the build interpreter's absolute path (`#!/…/venv/bin/
  python3`, or pip's and uv's `#!/bin/sh` + `'''exec' /…/python` trampoline for long paths):
  their first line becomes `#!/usr/bin/env python3`, which finds Lambda's interpreter on its
  PATH (/var/lang/bin comes first) and is the same on every host;
- the installer's own files: uv's `.lock` at the root, `INSTALLER`, `REQUESTED` and
  `direct_url.json` (PEP 610: it records a local path or URL of the build host) in each
  `.dist-info`, byte-code (`__pycache__`, `.pyc`), npm's hidden lock file
  `node_modules/.package-lock.json` (a cache of npm's, rebuilt by npm when missing);
- each `.dist-info/RECORD` (the wheel spec's file list, packaging.python.org "Recording installed
  projects") drops the lines of removed files and carries the new hash and size of rewritten
  ones, so it still describes the files shipped.

File order, times and modes are fixed by the zip writer (laambda/building/artifact.py).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import shutil
from pathlib import Path

PORTABLE_SHEBANG = b"#!/usr/bin/env python3\n"
_DIST_INFO_DROPPINGS = ("INSTALLER", "REQUESTED", "direct_url.json")
_TRAMPOLINE = b"#!/bin/sh\n'''exec' "  # pip's and uv's launcher for interpreters with long paths


def normalise_tree(root: Path) -> None:
    """Remove installer droppings under `root` and make console scripts host-independent."""
    removed: set[str] = set()
    rewritten: set[str] = set()
    for name in (".lock", "node_modules/.package-lock.json"):
        if (root / name).is_file() and not (root / name).is_symlink():
            (root / name).unlink()
            removed.add(name)
    for cache in sorted(root.rglob("__pycache__")):
        if cache.is_dir() and not cache.is_symlink():
            removed.update(p.relative_to(root).as_posix() for p in cache.rglob("*"))
            shutil.rmtree(cache)
    for compiled in [*root.rglob("*.pyc"), *root.rglob("*.pyo")]:
        compiled.unlink()
        removed.add(compiled.relative_to(root).as_posix())
    for dist_info in root.glob("*.dist-info"):
        for name in _DIST_INFO_DROPPINGS:
            path = dist_info / name
            if path.is_file():
                path.unlink()
                removed.add(path.relative_to(root).as_posix())
    scripts = root / "bin"
    if scripts.is_dir() and not scripts.is_symlink():
        for script in sorted(scripts.iterdir()):
            if script.is_file() and not script.is_symlink() and _portable_shebang(script):
                rewritten.add(script.relative_to(root).as_posix())
    for record in root.glob("*.dist-info/RECORD"):
        _rewrite_record(record, root, removed=removed, rewritten=rewritten)


def _portable_shebang(script: Path) -> bool:
    """Replace an interpreter path in a console script's first line(s); whether it changed."""
    data = script.read_bytes()
    if data.startswith(_TRAMPOLINE):
        # #!/bin/sh / '''exec' "/long/path/python" "$0" "$@" / ' '''
        lines = data.split(b"\n", 3)
        if len(lines) == 4 and b"python" in lines[1]:
            script.write_bytes(PORTABLE_SHEBANG + lines[3])
            return True
        return False
    first, newline, rest = data.partition(b"\n")
    if not newline or not first.startswith(b"#!") or b"python" not in first:
        return False
    if first + b"\n" == PORTABLE_SHEBANG:
        return False
    script.write_bytes(PORTABLE_SHEBANG + rest)
    return True


def _rewrite_record(record: Path, root: Path, *, removed: set[str], rewritten: set[str]) -> None:
    lines = record.read_text(encoding="utf-8").splitlines()
    kept: list[str] = []
    for line in lines:
        fields = next(csv.reader([line]), [])
        path = fields[0] if fields else ""
        if path in removed:
            continue
        if path in rewritten:
            data = (root / path).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            line = f"{path},sha256={digest.decode()},{len(data)}"
        kept.append(line)
    if kept != lines:
        record.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
