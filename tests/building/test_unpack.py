"""Unpacking refuses what could escape the build folder, and writes nothing outside it."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from laambda.building.unpack import SourceRefused, human_size, unpack_source
from laambda.errors import BuildFailed

MB = 1024 * 1024


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

    def test_size_limits_state_the_real_limit(self, tmp_path: Path) -> None:
        tarball = _tar(tmp_path / "src.tar", [_file("big.bin", b"0" * 5000)])
        with pytest.raises(SourceRefused) as info:
            _unpack(tarball, tmp_path / "dest", source=100)
        assert info.value.message == (
            "the source archive is 10 KB, over the limit of 100 bytes: "
            "keep large files out of the repository"
        )
        with pytest.raises(SourceRefused) as info:
            _unpack(tarball, tmp_path / "dest", unpacked=4096)
        assert info.value.message.startswith(
            "the source unpacks to 4.9 KB, over the limit of 4 KB: keep build outputs"
        )
        assert not (tmp_path / "dest" / "big.bin").exists()

    def test_compressed_bomb_is_refused_by_unpacked_size(self, tmp_path: Path) -> None:
        raw = _tar(tmp_path / "raw.tar", [_file("zeros", b"\0" * 2_000_000)])
        tarball = tmp_path / "src.tar.gz"
        tarball.write_bytes(gzip.compress(raw.read_bytes()))
        assert tarball.stat().st_size < 10_000
        with pytest.raises(BuildFailed, match="unpacks to 1.9 MB, over the limit of 1 MB:"):
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


def _files(root: Path) -> dict[str, bytes]:
    """Every plain file under root (links would show as links: there must be none)."""
    assert not [p for p in root.rglob("*") if p.is_symlink()]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class TestFollowedLinks:
    def test_directory_and_file_links_become_copies(self, tmp_path: Path) -> None:
        tarball = _tar(
            tmp_path / "src.tar",
            [
                _file("libs/shared/__init__.py", b""),
                _file("libs/shared/money.py", b"X = 1\n"),
                _file("settings/prod.json", b'{"currency": "EUR"}', 0o755),
                _link("shared", "libs/shared"),
                _link("config.json", "settings/prod.json"),
                _link("deep/alias", "../shared/money.py"),  # a link through a link
            ],
        )
        lines = _unpack(tarball, tmp_path / "dest")
        files = _files(tmp_path / "dest")
        assert files["shared/__init__.py"] == b""
        assert files["shared/money.py"] == b"X = 1\n"
        assert files["config.json"] == b'{"currency": "EUR"}'
        assert files["deep/alias"] == b"X = 1\n"
        assert (tmp_path / "dest" / "config.json").stat().st_mode & 0o777 == 0o755
        assert lines == []

    def test_links_count_against_the_unpacked_limit_before_anything_is_copied(
        self, tmp_path: Path
    ) -> None:
        """1 MB of data and 300 links to it once wrote a 301 MB zip before being refused."""
        members: list[tuple[tarfile.TarInfo, bytes | None]] = [_file("data/blob.bin", b"\0" * MB)]
        members += [_link(f"copies/{n}", "../data") for n in range(300)]
        tarball = _tar(tmp_path / "src.tar", members)
        with pytest.raises(SourceRefused) as info:
            _unpack(tarball, tmp_path / "dest", unpacked=20 * MB)
        assert info.value.message.startswith(
            "the source with its symlinks followed unpacks to more than 20 MB, over the limit"
        )
        written = sum(p.stat().st_size for p in (tmp_path / "dest").rglob("*") if p.is_file())
        assert written == MB  # the data itself; not one copy

    def test_links_that_multiply_empty_folders_are_refused_in_bounded_time(
        self, tmp_path: Path
    ) -> None:
        """Ten links to a folder of ten links to a folder of ...: a million entries, no bytes."""
        members: list[tuple[tarfile.TarInfo, bytes | None]] = [
            _file(f"d0/f{n}", b"") for n in range(10)
        ]
        for level in range(1, 7):
            members += [_link(f"d{level}/l{n}", f"../d{level - 1}") for n in range(10)]
        tarball = _tar(tmp_path / "src.tar", members)
        started = time.monotonic()
        with pytest.raises(SourceRefused) as info:
            _unpack(tarball, tmp_path / "dest")
        assert info.value.message.startswith(
            "the source with its symlinks followed unpacks to more than 500000 files and folders"
        )
        assert time.monotonic() - started < 30

    def test_links_that_would_never_end_are_dropped_with_a_line(self, tmp_path: Path) -> None:
        tarball = _tar(
            tmp_path / "src.tar",
            [
                _file("app.py", b"A\n"),
                _file("a/x.py", b"X\n"),
                _file("c/y.py", b"Y\n"),
                _link("self", "."),
                _link("a/to_c", "../c"),
                _link("c/to_a", "../a"),
                _link("gone", "missing/file.py"),
            ],
        )
        lines = _unpack(tarball, tmp_path / "dest")
        files = _files(tmp_path / "dest")
        assert files["app.py"] == b"A\n"
        assert files["a/to_c/y.py"] == b"Y\n"  # one link of the pair is followed
        assert "c/to_a" not in {n.rsplit("/", 1)[0] for n in files}
        assert lines == [
            "       dropped symlink c/to_a -> ../a: it points at a folder that holds it, "
            "so following it would never end",
            "       dropped symlink gone -> missing/file.py: "
            "what it points at is not in the repository",
            "       dropped symlink self -> .: it points at a folder that holds it, "
            "so following it would never end",
        ]

    @pytest.mark.parametrize(
        "links", [[("a", "b"), ("b", "a")], [("self", "self")], [("x", "y/z"), ("y", "x")]]
    )
    def test_links_that_lead_into_one_another_are_dropped_with_a_line(
        self, tmp_path: Path, links: list[tuple[str, str]]
    ) -> None:
        """The push of a loop builds without it (it was "internal error: Symlink loop from
        '/data/builds/…'")."""
        members = [_file("app.py", b"A\n"), *(_link(name, target) for name, target in links)]
        lines = _unpack(_tar(tmp_path / "src.tar", members), tmp_path / "dest")
        assert _files(tmp_path / "dest") == {"app.py": b"A\n"}
        assert lines == [
            f"       dropped symlink {name} -> {target}: it loops: the links lead into one "
            "another, so it points at nothing"
            for name, target in sorted(links)
        ]

    @pytest.mark.parametrize(
        ("members", "message"),
        [
            (["x", "x/y.py"], "holds 'x/y.py' inside 'x', which it also holds as a file"),
            (["lib/a/b.py", "lib/a"], "holds 'lib/a' as a file and as a folder"),
            (["x", "x/"], "holds 'x' as a file and as a folder"),
            (["d>nothere", "d/x>y"], "holds 'd/x' inside 'd', which it also holds as a symlink"),
        ],
    )
    def test_a_path_both_file_and_folder_is_refused(
        self, tmp_path: Path, members: list[str], message: str
    ) -> None:
        """It failed the build with "internal error: [Errno 17] File exists: '/data/…'"."""
        entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
        for name in members:
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                entries.append((info, None))
            elif ">" in name:
                link, target = name.split(">")
                entries.append(_link(link, target))
            else:
                entries.append(_file(name))
        with pytest.raises(SourceRefused, match=re.escape(message)):
            _unpack(_tar(tmp_path / "src.tar", entries), tmp_path / "dest")

    def test_a_name_too_long_for_the_file_system_is_refused(self, tmp_path: Path) -> None:
        tarball = _tar(tmp_path / "src.tar", [_file("app.py"), _file("a" * 5000)])
        with pytest.raises(SourceRefused, match=r"over the limit of 3072 bytes for a whole path"):
            _unpack(tarball, tmp_path / "dest")
        assert not (tmp_path / "dest" / "app.py").exists()

    def test_a_chain_that_leaves_the_tree_only_once_all_links_exist_is_dropped(
        self, tmp_path: Path
    ) -> None:
        """`x -> a/up/../src.tar` looks inside, but `a/up -> ..` (made later) is the root."""
        tarball = _tar(
            tmp_path / "src.tar",
            [_file("app.py"), _link("x", "a/up/../src.tar"), _link("a/up", "..")],
        )
        lines = _unpack(tarball, tmp_path / "dest")
        assert not (tmp_path / "dest" / "x").exists()
        assert "       dropped symlink x -> a/up/../src.tar: it points outside the repository" in (
            lines
        )


class TestSubmodules:
    def test_a_submodule_is_reported_not_silently_dropped(self, tmp_path: Path) -> None:
        """git archive writes a submodule as an empty folder beside .gitmodules."""
        gitmodules = b'[submodule "vendor/sdk"]\n\tpath = vendor/sdk\n\turl = ../sdk.git\n'
        folder = tarfile.TarInfo("vendor/sdk/")
        folder.type = tarfile.DIRTYPE
        tarball = _tar(
            tmp_path / "src.tar",
            [_file(".gitmodules", gitmodules), _file("app.py"), (folder, None)],
        )
        assert _unpack(tarball, tmp_path / "dest") == [
            " !     submodule vendor/sdk (../sdk.git) is not included: laambda builds only this "
            "repository's own files and does not fetch submodules; copy its files into the "
            "repository or install it as a dependency"
        ]


def _empty_tree_archive(folder: Path, form: str) -> Path:
    """What `git archive` writes for a commit whose tree is empty: a pax global header (the
    commit's id) and end-of-archive blocks, which Python's tarfile refuses to open."""
    folder.mkdir()
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], [*env, "commit", "-q", "--allow-empty", "-m", "e"]):
        subprocess.run(["git", *args], cwd=folder, check=True)
    tarball = folder.parent / f"empty.{form}"
    subprocess.run(
        ["git", "archive", f"--format={form}", "-o", str(tarball), "HEAD"], cwd=folder, check=True
    )
    return tarball


class TestEmptyTree:
    @pytest.mark.parametrize("form", ["tar", "tar.gz"])
    def test_an_empty_trees_archive_unpacks_to_an_empty_folder(
        self, tmp_path: Path, form: str
    ) -> None:
        tarball = _empty_tree_archive(tmp_path / "repo", form)
        assert _unpack(tarball, tmp_path / "dest") == []
        assert list((tmp_path / "dest").iterdir()) == []

    def test_a_global_header_before_damage_is_still_refused(self, tmp_path: Path) -> None:
        tarball = _empty_tree_archive(tmp_path / "repo", "tar")
        data = bytearray(tarball.read_bytes())
        data[1024:1536] = b"junk" * 128  # the end-of-archive block is now neither end nor file
        tarball.write_bytes(bytes(data))
        with pytest.raises(SourceRefused, match="cannot be read as a tar file"):
            _unpack(tarball, tmp_path / "dest")


@pytest.mark.parametrize(
    ("size", "text"),
    [(1, "1 byte"), (100, "100 bytes"), (2048, "2 KB"), (5000, "4.9 KB"), (MB, "1 MB")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text
