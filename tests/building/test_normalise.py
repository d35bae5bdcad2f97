"""The artifact is a pure function of the tree, runtime, architecture and dependencies: no host
path, no installer dropping, whichever virtualenv (at whichever path) ran the build."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from laambda.building.normalise import normalise_tree
from tests.support.archives import tar_of


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_host_paths_and_droppings_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "deps"
    info = root / "tool-1.0.dist-info"
    (root / "bin").mkdir(parents=True)
    (root / "tool" / "__pycache__").mkdir(parents=True)
    info.mkdir()
    body = b"import sys\nfrom tool import main\nsys.exit(main())\n"
    (root / "bin" / "tool").write_bytes(b"#!/home/ci/venv/bin/python3\n" + body)
    long_path = b"/very/long/" + b"x" * 140 + b"/bin/python"
    (root / "bin" / "tool-long").write_bytes(
        b"#!/bin/sh\n'''exec' '" + long_path + b"' \"$0\" \"$@\"\n' '''\n" + body
    )
    (root / "bin" / "helper.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / ".lock").write_bytes(b"")
    (root / "tool" / "__init__.py").write_text("def main():\n    return 0\n")
    (root / "tool" / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"\0")
    for name, text in {"INSTALLER": "uv\n", "REQUESTED": "", "direct_url.json": "{}"}.items():
        (info / name).write_text(text)
    (info / "METADATA").write_text("Name: tool\n")
    (info / "RECORD").write_text(
        "bin/tool,sha256=old,99\n"
        "bin/tool-long,sha256=old,200\n"
        "tool/__init__.py,sha256=abc,30\n"
        "tool/__pycache__/__init__.cpython-312.pyc,,\n"
        "tool-1.0.dist-info/INSTALLER,sha256=x,3\n"
        "tool-1.0.dist-info/direct_url.json,sha256=y,2\n"
        "tool-1.0.dist-info/RECORD,,\n"
    )

    normalise_tree(root)

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == [
        "bin/helper.sh",
        "bin/tool",
        "bin/tool-long",
        "tool-1.0.dist-info/METADATA",
        "tool-1.0.dist-info/RECORD",
        "tool/__init__.py",
    ]
    script = b"#!/usr/bin/env python3\n" + body
    assert (root / "bin" / "tool").read_bytes() == script
    assert (root / "bin" / "tool-long").read_bytes() == script
    assert (root / "bin" / "helper.sh").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (info / "RECORD").read_text() == (
        f"bin/tool,{_record_hash(script)},{len(script)}\n"
        f"bin/tool-long,{_record_hash(script)},{len(script)}\n"
        "tool/__init__.py,sha256=abc,30\n"
        "tool-1.0.dist-info/RECORD,,\n"
    )


_BUILD = """
import json, sys
from pathlib import Path
from laambda.building.pipeline import build_source
from laambda.config import Settings

tarball, work = Path(sys.argv[1]), Path(sys.argv[2])
result = build_source(tarball, app_name="clock", workdir=work / "build",
                      settings=Settings(data_dir=work / "data"), store=None, log=print)
print(json.dumps({"sha256": result.sha256, "path": str(result.artifact_path)}))
"""


def _venv(path: Path) -> Path:
    """A fresh virtualenv at `path` that imports laambda and its dependencies from ours."""
    base = Path(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_path("purelib")
    (Path(site) / "laambda-test.pth").write_text(f"{ours}\n")
    # uv's launcher looks for its binary beside the interpreter; a copy, since the build
    # sandbox shows the venv but not where a link out of it would lead
    shutil.copy2(Path(sysconfig.get_path("scripts")) / "uv", path / "bin" / "uv")
    return python


@pytest.mark.slow
def test_same_commit_same_sha256_from_two_virtualenvs_at_two_paths(tmp_path: Path) -> None:
    files = {
        "Procfile": "tick: clock.handler\n",
        "clock.py": "import tqdm\n\ndef handler(e, c):\n    return tqdm.__version__\n",
        "requirements.txt": "tqdm==4.67.1\n",
        ".python-version": "3.12\n",
    }
    tarball = tar_of(files, tmp_path / "src.tar")
    results = []
    # the second path is long enough for the installer's `#!/bin/sh` trampoline
    for name in ("a", "b" + "-deeper" * 20):
        work = tmp_path / name
        python = _venv(work / "venv")
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        out = subprocess.run(
            [str(python), "-c", _BUILD, str(tarball), str(work)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        results.append(json.loads(out.stdout.splitlines()[-1]))
    assert results[0]["sha256"] == results[1]["sha256"]
    with zipfile.ZipFile(results[0]["path"]) as archive:
        names = archive.namelist()
        script = archive.read("bin/tqdm")
    assert script.startswith(b"#!/usr/bin/env python3\n")
    assert ".lock" not in names
    assert not [n for n in names if n.endswith(("INSTALLER", "REQUESTED", "direct_url.json"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # no host path at all: neither build's data directory, work folder or virtualenv
    with zipfile.ZipFile(results[1]["path"]) as archive:
        holding = [n for n in archive.namelist() if str(tmp_path).encode() in archive.read(n)]
    assert holding == []
