"""What a fresh interpreter loads: for the tests that keep a start-up light."""

from __future__ import annotations

import subprocess
import sys


def modules_loaded(module: str, prefix: str) -> list[str]:
    """The modules named `prefix` or `prefix.…` that importing `module` loads in a new
    interpreter of this venv, sorted. Raises CalledProcessError if the import fails."""
    probe = (
        "import sys\n"
        f"import {module}\n"
        f"print(*sorted(m for m in sys.modules if (m + '.').startswith({prefix + '.'!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.split()
