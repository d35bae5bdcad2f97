"""Which builder one machine can use: Docker when a Docker-API engine answers, else wheels."""

from __future__ import annotations

import os


def docker_answers() -> bool:
    """Whether a Docker-API engine answers at DOCKER_HOST (else the default socket) within 2 s.
    The docker SDK is imported here, not with the module: `laambda up` asks only when no
    builder is set, and its import (paramiko's included) is a fifth of a second."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST") or None, timeout=2)
        client.ping()
        client.close()
        return True
    except (DockerException, OSError):
        return False
