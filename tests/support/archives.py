"""Archives as tests need them: source tarballs as `git archive` makes them (a file, or gzip
bytes as pushes store them in S3) and Lambda zips of a few files."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path


def tar_of(files: Mapping[str, str | bytes], path: Path) -> Path:
    """A tarball holding `files` (name -> content), as git archive would make it."""
    with tarfile.open(path, "w") as archive:
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def tarball(files: dict[str, str]) -> bytes:
    """A gzip tarball of `files` (name -> text), as a push stores its source in S3."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_of(files: dict[str, str], path: Path) -> Path:
    """A Lambda zip of `files` (name -> text) written to `path`; returns `path`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    path.write_bytes(buffer.getvalue())
    return path
