"""The rules every source tarball meets, checked without extracting: pushes and uploads."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from laambda.building.source_check import SourceLimits, SourceRefused, check_upload

UPLOAD = SourceLimits(max_unpacked_bytes=10**6, max_entries=50, refuse_outside_links=True)
Member = tuple[tarfile.TarInfo, bytes | None]


def _file(name: str, data: bytes = b"x") -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def _tgz(path: Path, members: list[Member]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _refused(tmp_path: Path, members: list[Member], limits: SourceLimits = UPLOAD) -> str:
    tarball = _tgz(tmp_path / "src.tar.gz", members)
    with pytest.raises(SourceRefused) as info:
        check_upload(tarball, limits)
    return info.value.message


class TestRefused:
    def test_absolute_path(self, tmp_path: Path) -> None:
        message = _refused(tmp_path, [_file("app.py"), _file("/etc/cron.d/evil")])
        assert message.startswith("the source archive holds an absolute path '/etc/cron.d/evil'")
        assert "every path must be relative to the top of the source" in message

    def test_dot_dot(self, tmp_path: Path) -> None:
        message = _refused(tmp_path, [_file("lib/../../evil.py")])
        assert message.startswith("the source archive holds a path with '..': 'lib/../../evil.py'")

    @pytest.mark.parametrize(
        ("kind", "name"),
        [(tarfile.CHRTYPE, "dev/null"), (tarfile.BLKTYPE, "dev/sda"), (tarfile.FIFOTYPE, "pipe")],
    )
    def test_device_and_fifo_files(self, tmp_path: Path, kind: bytes, name: str) -> None:
        message = _refused(tmp_path, [_special(name, kind)])
        assert message == (
            f"the source archive holds '{name}', a device, FIFO or other special file; "
            "only files, folders and links may be pushed or uploaded"
        )

    @pytest.mark.parametrize("target", ["/etc/passwd", "../../etc/passwd", "sub/../../../x"])
    def test_symlink_leaving_the_tree(self, tmp_path: Path, target: str) -> None:
        message = _refused(tmp_path, [_special("lib/conf", tarfile.SYMTYPE, target)])
        assert message.startswith(
            f"the source archive holds a symlink 'lib/conf' -> '{target}', which points "
            "outside the source; refused"
        )

    def test_symlink_leaving_the_tree_through_other_links(self, tmp_path: Path) -> None:
        message = _refused(
            tmp_path,
            [
                _special("a", tarfile.SYMTYPE, "b/passwd"),
                _special("b", tarfile.SYMTYPE, "c"),
                _special("c", tarfile.SYMTYPE, "up/.."),
                _special("up", tarfile.SYMTYPE, "."),
            ],
        )
        assert message.startswith("the source archive holds a symlink 'a' -> 'b/passwd', which ")
        assert "leads outside the source through other links; refused" in message

    @pytest.mark.parametrize(
        ("members", "why"),
        [
            ([("a", "b"), ("b", "a")], "the links lead into one another, so it points at nothing"),
            ([("self", "self")], "the links lead into one another, so it points at nothing"),
            ([("lib/top", "..")], "it points at a folder that holds it"),
        ],
    )
    def test_symlink_loops(self, tmp_path: Path, members: list[tuple[str, str]], why: str) -> None:
        links = [_special(name, tarfile.SYMTYPE, target) for name, target in members]
        message = _refused(tmp_path, [_file("app.py"), *links])
        name, target = members[0]
        assert message.startswith(
            f"the source archive holds a symlink '{name}' -> '{target}', which loops ({why}"
        )
        assert message.endswith("refused: remove it")

    @pytest.mark.parametrize(
        ("name", "rule"),
        [
            ("a" * 5000, "over the limit of 3072 bytes for a whole path"),
            ("lib/" + "é" * 128 + "/x.py", "with a name over the limit of 255 bytes"),
            ("/".join(["d" * 200] * 16), "over the limit of 3072 bytes for a whole path"),
        ],
    )
    def test_names_too_long_for_a_file_system(self, tmp_path: Path, name: str, rule: str) -> None:
        """One rule for every path (the limits of Linux file systems), named with the entry cut
        short, for uploads and pushes alike; never "File name too long" from the build."""
        for limits in (UPLOAD, SourceLimits(max_unpacked_bytes=10**6)):
            message = _refused(tmp_path, [_file("app.py"), _file(name)], limits)
            assert message.startswith(f"the source archive holds a path '{name[:40]}… (")
            assert rule in message
            assert len(message) < 300

    def test_link_target_too_long(self, tmp_path: Path) -> None:
        message = _refused(tmp_path, [_special("x", tarfile.SYMTYPE, "b" * 300)])
        assert message.startswith(f"the source archive holds a link target '{'b' * 40}… (300 ")
        assert "over the limit of 255 bytes" in message

    @pytest.mark.parametrize("target", ["/etc/passwd", "../secret", "not-in-the-archive.txt"])
    def test_hard_link_to_anything_but_an_earlier_file(self, tmp_path: Path, target: str) -> None:
        message = _refused(tmp_path, [_file("a.txt"), _special("hard", tarfile.LNKTYPE, target)])
        assert message == (
            f"the source archive holds a hard link 'hard' to '{target}', which is not a file "
            "of the repository; refused"
        )

    def test_too_many_entries(self, tmp_path: Path) -> None:
        members = [_file(f"f{i}.py") for i in range(51)]
        message = _refused(tmp_path, members)
        assert message.startswith(
            "the source archive holds more than 50 files, folders and links, over the limit"
        )

    def test_too_big_unpacked_stops_reading(self, tmp_path: Path) -> None:
        message = _refused(tmp_path, [_file("zeros", b"\0" * 2_000_000), _file("/abs")])
        # refused by size at the first member: the absolute path after it is never read
        assert message.startswith("the source unpacks to 1.9 MB, over the limit of 976.6 KB:")

    def test_not_gzip(self, tmp_path: Path) -> None:
        plain = tmp_path / "src.tar"
        with tarfile.open(plain, "w") as archive:
            info, data = _file("app.py")
            archive.addfile(info, io.BytesIO(data or b""))
        with pytest.raises(SourceRefused, match="the upload is not a gzip'd tar file"):
            check_upload(plain, UPLOAD)

    def test_gzip_but_not_a_tar(self, tmp_path: Path) -> None:
        path = tmp_path / "src.tar.gz"
        path.write_bytes(gzip.compress(b"hello, this is not a tar file\n" * 100))
        with pytest.raises(SourceRefused, match="the source archive is damaged|cannot be read"):
            check_upload(path, UPLOAD)

    def test_truncated(self, tmp_path: Path) -> None:
        whole = _tgz(tmp_path / "whole.tar.gz", [_file("a.bin", bytes(range(256)) * 400)])
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(whole.read_bytes()[:200])
        with pytest.raises(SourceRefused, match="damaged|cannot be read"):
            check_upload(cut, UPLOAD)


class TestAccepted:
    def test_files_folders_and_links_inside(self, tmp_path: Path) -> None:
        folder = tarfile.TarInfo("lib")
        folder.type = tarfile.DIRTYPE
        tarball = _tgz(
            tmp_path / "src.tar.gz",
            [
                (folder, None),
                _file("lib/real.py"),
                _special("alias.py", tarfile.SYMTYPE, "lib/real.py"),
                _special("lib/up.py", tarfile.SYMTYPE, "../alias.py"),
                _special("copy.py", tarfile.LNKTYPE, "lib/real.py"),
                _file("./Procfile"),
            ],
        )
        assert check_upload(tarball, UPLOAD) == 6

    def test_pushes_keep_outside_symlinks_for_unpack_to_drop(self, tmp_path: Path) -> None:
        tarball = _tgz(tmp_path / "src.tar.gz", [_special("up", tarfile.SYMTYPE, "/etc")])
        assert check_upload(tarball, SourceLimits(max_unpacked_bytes=10**6)) == 1

    def test_pushes_keep_looping_symlinks_for_unpack_to_drop(self, tmp_path: Path) -> None:
        tarball = _tgz(
            tmp_path / "src.tar.gz",
            [_special("a", tarfile.SYMTYPE, "b"), _special("b", tarfile.SYMTYPE, "a")],
        )
        assert check_upload(tarball, SourceLimits(max_unpacked_bytes=10**6)) == 2

    def test_uploads_keep_links_to_nothing_for_unpack_to_drop(self, tmp_path: Path) -> None:
        """`.env -> .env.local` where the target is ignored and so not sent: dropped later."""
        tarball = _tgz(
            tmp_path / "src.tar.gz",
            [_file("app.py"), _special(".env", tarfile.SYMTYPE, ".env.local")],
        )
        assert check_upload(tarball, UPLOAD) == 2

    def test_longest_names_allowed(self, tmp_path: Path) -> None:
        name = "/".join(["d" * 255] * 12)  # 3071 bytes
        tarball = _tgz(tmp_path / "src.tar.gz", [_file(name)])
        assert check_upload(tarball, UPLOAD) == 1
