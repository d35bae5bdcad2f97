"""Node.js builds: an app with an in-tree `file:` dependency, and `require` from an artifact."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

# an app whose package.json names an in-tree package (`file:`), which has its own dependency
SHARED_APP = {
    "package.json": json.dumps(
        {"name": "uses-shared", "dependencies": {"shared": "file:./shared", "is-number": "7.0.0"}}
    ),
    "Procfile": "a: index.handler\n",
    "index.js": "exports.handler = async () => require('shared');\n",
    "shared/package.json": json.dumps(
        {"name": "shared", "version": "1.0.0", "main": "index.js",
         "dependencies": {"is-number": "7.0.0"}}
    ),
    "shared/index.js": (
        "const isNumber = require('is-number');\n"
        "module.exports = {from: 'the shared folder', numeric: isNumber('5')};\n"
    ),
}  # fmt: skip


def require_from_artifact(artifact: Path, tmp_path: Path, module: str) -> object:
    """`require(module)` in a fresh node, from a folder outside the unpacked artifact, with
    only its node_modules on NODE_PATH (as Lambda's /var/task/node_modules is); its JSON."""
    root = tmp_path / "unpacked"
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run(
        ["node", "-e", f"console.log(JSON.stringify(require({json.dumps(module)})))"],
        cwd=elsewhere, capture_output=True, text=True, check=False,
        env={"NODE_PATH": str(root / "node_modules"), "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
