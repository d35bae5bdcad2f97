"""What a source tarball holds, for telling whether two tarballs hold the same source."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

from laambda.building.source_check import relative

Entry = tuple[str, str, str]  # path, kind ("file", "exec" or "link"), sha256 or link target


def contents(tarball: Path) -> frozenset[Entry]:
    """Each file and link of `tarball` (tar, gzip'd or not): its path, whether it is
    executable (the one mode bit git keeps) and its content's sha256 or link's target.
    Folders, owners and times are left out, so `git archive` of a commit and the same tree
    packed elsewhere (`laambda deploy`) compare equal. tarfile.TarError on a broken file."""
    entries = set()
    with tarfile.open(tarball, "r:*") as archive:
        for member in archive:
            name = relative(member.name)
            if member.issym():
                entries.add((name, "link", member.linkname))
            elif member.isfile():
                digest = hashlib.sha256()
                stream = archive.extractfile(member)
                while stream is not None and (chunk := stream.read(1 << 16)):
                    digest.update(chunk)
                entries.add((name, "exec" if member.mode & 0o111 else "file", digest.hexdigest()))
    return frozenset(entries)
