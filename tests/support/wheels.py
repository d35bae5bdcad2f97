"""Reading what the wheel builder made: a wheel's tags in an artifact, and the Pillow app's
handler run from the unpacked artifact alone."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path


def wheel_tags(artifact: Path, package: str) -> list[str]:
    with zipfile.ZipFile(artifact) as archive:
        name = next(
            n
            for n in archive.namelist()
            if n.startswith(package) and n.endswith(".dist-info/WHEEL")
        )
        text = archive.read(name).decode()
    return [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Tag:")]


def run_handler(artifact: Path, tmp_path: Path, handler: str, event: dict[str, int]) -> object:
    """Import the handler from the unpacked artifact alone, in a fresh interpreter, and call it."""
    root = tmp_path / "unpacked"
    if not root.exists():
        with zipfile.ZipFile(artifact) as archive:
            archive.extractall(root)
    module, function = handler.rsplit(".", 1)
    code = (
        "import sys, json; sys.path[:0] = [sys.argv[1]]\n"
        f"import PIL, {module}\n"
        "assert PIL.__file__.startswith(sys.argv[1]), PIL.__file__\n"
        f"print(json.dumps({module}.{function}(json.loads(sys.argv[2]), None)))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(root), json.dumps(event)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)
