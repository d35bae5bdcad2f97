"""docker-compose.yml as an operator reads it: AWS credentials reach the parts that call AWS,
and the API (with /metrics and /health) is published on the host's loopback unless opened."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION")


def _services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    return services


def test_aws_credentials_from_the_environment_reach_every_laambda_container() -> None:
    for name in ("api", "worker", "receiver"):
        environment = _services()[name]["environment"]
        for variable in AWS:
            # compose's environment (or the project's .env), empty when unset
            assert environment[variable] == f"${{{variable}:-}}", (name, variable)
    example = (ROOT / ".env.example").read_text()
    for variable in AWS:
        assert re.search(rf"^# {variable}=$", example, re.MULTILINE), variable


def test_the_api_is_published_on_loopback_unless_opened() -> None:
    (published,) = _services()["api"]["ports"]
    assert published == "${LAAMBDA_API_PUBLISH:-127.0.0.1:5000}:5000"
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "published on 127.0.0.1 only" in readme
    assert "LAAMBDA_API_PUBLISH=0.0.0.0:5000" in readme
