"""Unpacking refuses what could escape the build folder, and writes nothing outside it."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from laambda.build.unpack import unpack_source
from laambda.errors import BuildFailed


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _unpack(tarball: Path, dest: Path, **limits: int) -> list[str]:
    lines: list[str] = []
    unpack_source(
        tarball,
        dest,
        max_source_bytes=limits.get("source", 10**9),
        max_unpacked_bytes=limits.get("unpacked", 10**9),
        log=lines.append,
    )
    return lines


def _outside(tmp_path: Path) -> set[str]:
    """Everything under tmp_path except the unpack folder and the tarball."""
    return {
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if not p.is_relative_to(tmp_path / "dest") and p.suffix != ".tar"
    }


class TestRefused:
    @pytest.mark.parametrize(
        ("member", "message"),
        [
            (_file("/etc/evil"), "absolute path '/etc/evil'"),
            (_file("../evil"), "a path with '..': '../evil'"),
            (_file("a/../../evil"), "a path with '..'"),
            (_link("hard", "/etc/passwd", tarfile.LNKTYPE), "hard link 'hard' to '/etc/passwd'"),
            (_link("hard", "missing.txt", tarfile.LNKTYPE), "hard link 'hard' to 'missing.txt'"),
        ],
    )
    def test_escaping_members(self, tmp_path: Path, member: tuple, message: str) -> None:  # type: ignore[type-arg]
        tarball = _tar(tmp_path / "src.tar", [_file("ok.py"), member])
        with pytest.raises(BuildFailed) as info:
            _unpack(tarball, tmp_path / "dest")
        assert message in info.value.message
        assert _outside(tmp_path) == set()

    def test_device_files(self, tmp_path: Path) -> None:
        info = tarfile.TarInfo("dev/null")
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        tarball = _tar(tmp_path / "src.tar", [(info, None)])
        with pytest.raises(BuildFailed, match="'dev/null', a device, FIFO or other special file"):
            _unpack(tarball, tmp_path / "dest")

    def test_size_limits(self, tmp_path: Path) -> None:
        tarball = _tar(tmp_path / "src.tar", [_file("big.bin", b"0" * 5000)])
        with pytest.raises(BuildFailed, match="the source archive is 0.0 MB, over the limit"):
            _unpack(tarball, tmp_path / "dest", source=100)
        with pytest.raises(BuildFailed, match="the source unpacks to 0.0 MB, over the limit"):
            _unpack(tarball, tmp_path / "dest", unpacked=4999)
        assert not (tmp_path / "dest" / "big.bin").exists()

    def test_compressed_bomb_is_refused_by_unpacked_size(self, tmp_path: Path) -> None:
        raw = _tar(tmp_path / "raw.tar", [_file("zeros", b"\0" * 2_000_000)])
        tarball = tmp_path / "src.tar.gz"
        tarball.write_bytes(gzip.compress(raw.read_bytes()))
        assert tarball.stat().st_size < 10_000
        with pytest.raises(BuildFailed, match="unpacks to 1.9 MB, over the limit of 1 MB"):
            _unpack(tarball, tmp_path / "dest", unpacked=1024 * 1024)

    def test_not_a_tarball(self, tmp_path: Path) -> None:
        tarball = tmp_path / "src.tar"
        tarball.write_bytes(b"this is not a tar file at all" * 40)
        with pytest.raises(BuildFailed, match="cannot be read as a tar file"):
            _unpack(tarball, tmp_path / "dest")


class TestLinks:
    def test_symlink_out_of_the_tree_is_dropped_never_followed(self, tmp_path: Path) -> None:
        tarball = _tar(
            tmp_path / "src.tar",
            [_file("app.py"), _link("passwd", "/etc/passwd"), _link("up", "../../etc")],
        )
        lines = _unpack(tarball, tmp_path / "dest")
        assert not (tmp_path / "dest" / "passwd").exists()
        assert not (tmp_path / "dest" / "up").is_symlink()
        assert any("dropped symlink passwd -> /etc/passwd" in line for line in lines)

    def test_symlink_chain_that_escapes_is_dropped(self, tmp_path: Path) -> None:
        tarball = _tar(
            tmp_path / "src.tar",
            [_link("a", "b/passwd"), _link("b", "c"), _link("c", "/etc")],
        )
        _unpack(tarball, tmp_path / "dest")
        assert not (tmp_path / "dest" / "a").resolve().is_file()

    def test_links_inside_the_tree_are_kept(self, tmp_path: Path) -> None:
        tarball = _tar(
            tmp_path / "src.tar",
            [
                _file("lib/real.py", b"X = 1\n", 0o755),
                _link("alias.py", "lib/real.py"),
                _link("copy.py", "lib/real.py", tarfile.LNKTYPE),
            ],
        )
        _unpack(tarball, tmp_path / "dest")
        dest = tmp_path / "dest"
        assert (dest / "alias.py").read_text() == "X = 1\n"
        assert (dest / "copy.py").read_text() == "X = 1\n"
        assert (dest / "lib" / "real.py").stat().st_mode & 0o777 == 0o755
