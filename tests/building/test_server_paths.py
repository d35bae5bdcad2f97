"""A build's log shows the pusher what the installers said, never a path of the server: not
the worker's data directory or work folders, not laambda's interpreter or environment, not
the temporary folder (uv's "Using CPython … interpreter at: /…/.venv/bin/python" included)."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

from laambda.building.builders.base import ServerPaths
from laambda.building.pipeline import build_source
from laambda.config import Settings
from laambda.objectstore import ObjectStore


def _tarball(files: dict[str, str], path: Path) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _server_paths(settings: Settings, workdir: Path) -> set[str]:
    places = {
        str(settings.data_dir),
        str(workdir),
        sys.prefix,
        os.path.dirname(sys.executable),
        os.path.realpath(sys.executable),
        str(Path.home()),
        "/tmp/",
    }
    return places | {os.path.realpath(place) for place in places}


def test_paths_of_the_server_become_an_ellipsis() -> None:
    shown = ServerPaths(["/srv/laambda/builds/7/out", "--target", "/srv/laambda/cache/uv"])
    assert shown(f"Using CPython 3.11.7 interpreter at: {sys.executable}") is None
    assert shown(f"Using Python 3.12.3 environment at: {sys.prefix}") is None
    assert shown("Installed 2 packages in 3ms") == "Installed 2 packages in 3ms"
    assert shown("Saved /srv/laambda/builds/7/out/six.py") == "Saved …/six.py"
    assert shown("  Stored in directory: /tmp/pip-ephem-wheel-cache-x/wheels/ab") == (
        "  Stored in directory: …/pip-ephem-wheel-cache-x/wheels/ab"
    )
    assert shown(f"  File {sys.prefix}/lib/site.py, line 3") == "  File …/lib/site.py, line 3"
    assert shown("file:///srv/laambda/cache/uv/wheels") == "file://…/wheels"
    # not a path of the server: a URL's path, a longer folder name, the system's folders
    for kept in (
        "GET https://pypi.org/tmp/simple/six/",
        "/srv/laambda/builds/7/output",
        "gcc -I/usr/include/python3.11 -c x.c",
    ):
        assert shown(kept) == kept


@pytest.mark.slow
def test_a_build_log_names_no_path_of_the_server(
    settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    pyproject = (
        '[project]\nname = "hello"\nversion = "1"\ndependencies = ["six", "docopt==0.6.2"]\n'
    )
    files = {"pyproject.toml": pyproject, "Procfile": "hi: hello.handler", "hello.py": "x = 1\n"}
    workdir = tmp_path / "builds" / "1"
    lines: list[str] = []
    build_source(
        _tarball(files, tmp_path / "hello.tar"),
        app_name="hello",
        workdir=workdir,
        settings=settings,
        store=object_store,
        log=lines.append,
    )
    assert "-----> docopt is published only as source: building it into a wheel" in lines
    assert any("six" in line for line in lines)  # the installers' own lines still show
    log = "\n".join(lines)
    assert "interpreter at:" not in log
    leaked = [place for place in _server_paths(settings, workdir) if place in log]
    assert not leaked, log
