"""A worker that builds with the wheels builder starts without importing the Docker SDK, which
only the Docker builder uses (laambda/building/dependencies.py choose_builder)."""

from __future__ import annotations

import subprocess
import sys

from laambda.building.builders.wheels import WheelBuilder
from laambda.building.dependencies import choose_builder
from laambda.config import Settings

_PROBE = """
import sys
import laambda.worker.main
print(sorted(name for name in sys.modules if name == "docker" or name.startswith("docker.")))
"""


def test_a_worker_imports_no_docker_sdk_until_a_docker_build() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "[]\n", done.stdout
    assert isinstance(choose_builder(Settings(builder="wheels"), "python"), WheelBuilder)
    docker = choose_builder(Settings(builder="docker"), "python")
    assert type(docker).__name__ == "DockerBuilder"
