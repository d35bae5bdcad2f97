"""Whether a tar file that Python's tarfile refuses is only an empty tree.

`git archive` of a commit whose tree is empty (`git commit --allow-empty` in a new repository)
writes a pax global header holding the commit's id, then the end-of-archive blocks. tarfile
reads the header after a global header as part of it, and refuses the archive when that header
is the end ("end of file header", tarfile.ReadError). Such an archive holds no files: a build
sees an empty tree, and detection then says what it looked for.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

BLOCK = 512
GLOBAL_HEADER = b"g"  # POSIX pax typeflag of a global extended header
GZIP_MAGIC = b"\x1f\x8b"
# git pads to a record of 10240 bytes; a global header's comment is one block or two
MOST = 64 * 1024


def empty_archive(tarball: Path) -> bool:
    """True when `tarball` (a tar file, gzip'd or not) holds nothing but pax global headers
    and end-of-archive (zero) blocks; False otherwise, also when it is damaged, not a tar file
    or longer than an empty tree's archive could be (only its first 64 KiB are read)."""
    with open(tarball, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    try:
        with gzip.open(tarball, "rb") if gzipped else open(tarball, "rb") as stream:
            data = stream.read(MOST + 1)
    except (OSError, EOFError, zlib.error):
        return False
    if len(data) > MOST or len(data) % BLOCK:
        return False
    offset = 0
    while offset < len(data):
        header = data[offset : offset + BLOCK]
        if header.count(0) == BLOCK:
            offset += BLOCK
            continue
        if header[156:157] != GLOBAL_HEADER:
            return False
        try:
            size = int(header[124:136].strip(b"\x00 ") or b"0", 8)
        except ValueError:
            return False
        offset += BLOCK + -(-size // BLOCK) * BLOCK
    return offset == len(data)
