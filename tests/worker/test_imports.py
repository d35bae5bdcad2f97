"""A worker that builds with the wheels builder starts without importing the Docker SDK, which
only the Docker builder uses (laambda/building/dependencies.py choose_builder)."""

from __future__ import annotations

from laambda.building.builders.wheels import WheelBuilder
from laambda.building.dependencies import choose_builder
from laambda.config import Settings
from tests.support.imports import modules_loaded


def test_a_worker_imports_no_docker_sdk_until_a_docker_build() -> None:
    assert modules_loaded("laambda.worker.main", "docker") == []
    assert isinstance(choose_builder(Settings(builder="wheels"), "python"), WheelBuilder)
    docker = choose_builder(Settings(builder="docker"), "python")
    assert type(docker).__name__ == "DockerBuilder"
