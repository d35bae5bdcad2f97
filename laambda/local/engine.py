"""Which builder one machine can use: Docker when a Docker-API engine answers, else wheels."""

from __future__ import annotations

import os

import docker
from docker.errors import DockerException


def docker_answers() -> bool:
    try:
        client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST") or None, timeout=2)
        client.ping()
        client.close()
        return True
    except (DockerException, OSError):
        return False
