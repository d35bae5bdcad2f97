"""Two tarballs hold the same source when their files, executable bits and links agree: a
real `git archive` of a commit compared with tarballs an upload might send."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

from laambda.building.contents import contents
from tests.support.receiver import commit, git

FILES = {"app.py": b"print(1)\n", "lib/x.py": b"x = 1\n", "run.sh": b"#!/bin/sh\n"}


def _archived(tmp_path: Path) -> Path:
    """`git archive` of a commit holding FILES (run.sh executable) and a link main.py."""
    repo = tmp_path / "repo"
    (repo / "lib").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for name, data in FILES.items():
        (repo / name).write_bytes(data)
    (repo / "run.sh").chmod(0o755)
    os.symlink("app.py", repo / "main.py")
    commit(repo, {}, "app")
    archived = tmp_path / "commit.tar.gz"
    subprocess.run(
        ["git", "archive", "--format=tar.gz", "-o", str(archived), "HEAD"], cwd=repo, check=True
    )
    return archived


def _packed(path: Path, files: dict[str, bytes], *, executable: str = "run.sh") -> Path:
    """A tarball packed elsewhere: a `./` prefix, folders, other owners and times."""
    with tarfile.open(path, "w:gz") as archive:
        folder = tarfile.TarInfo("./lib")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o700
        archive.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size, info.mode, info.uid, info.mtime = len(data), 0o600, 1000, 12345
            info.mode |= 0o100 if name == executable else 0
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("./main.py")
        link.type, link.linkname = tarfile.SYMTYPE, "app.py"
        archive.addfile(link)
    return path


def test_the_same_source_packed_elsewhere_compares_equal(tmp_path: Path) -> None:
    archived = contents(_archived(tmp_path))
    assert {(name, kind) for name, kind, _ in archived} == {
        ("app.py", "file"),
        ("lib/x.py", "file"),
        ("run.sh", "exec"),
        ("main.py", "link"),
    }
    assert contents(_packed(tmp_path / "same.tgz", FILES)) == archived


def test_other_content_a_lost_executable_bit_or_an_extra_file_differ(tmp_path: Path) -> None:
    archived = contents(_archived(tmp_path))
    other = FILES | {"app.py": b"print('EVIL CODE')\n"}
    assert contents(_packed(tmp_path / "other.tgz", other)) != archived
    assert contents(_packed(tmp_path / "mode.tgz", FILES, executable="")) != archived
    extra = FILES | {"extra.py": b""}
    assert contents(_packed(tmp_path / "extra.tgz", extra)) != archived
