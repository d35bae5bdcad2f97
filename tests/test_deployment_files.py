"""The files that deploy laambda elsewhere: compose, Dockerfile, .env.example, Procfile.example.

docker-compose cannot run here (no Docker daemon), so these tests check what can go wrong
without one: every service runs a real command of the package, and every setting is documented.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from laambda.cli.main import app as cli
from laambda.config import Settings
from laambda.domain.procfile import parse_procfile

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> set[str]:
    group = get_command(cli)
    return set(group.commands)  # type: ignore[attr-defined]


def test_every_compose_service_runs_a_real_entry_point() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    built = {name: s for name, s in compose["services"].items() if "build" in s}
    assert set(built) == {"api", "worker", "receiver"}
    commands = _commands()
    for name, service in built.items():
        program, subcommand = service["command"][:2]
        assert program == "laambda", name
        assert subcommand in commands, f"{name}: `laambda {subcommand}` is not a command"


def test_dockerfile_installs_the_built_wheel_with_its_entry_point() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY laambda " in dockerfile  # the one package, the receiver included
    assert "uv build --wheel" in dockerfile
    assert "--require-hashes" in dockerfile
    assert " -e ." not in dockerfile  # not the checkout, editable
    # the migrations ship inside the package the wheel is built from
    assert (ROOT / "laambda" / "migrations" / "env.py").is_file()


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"LAAMBDA_([A-Z_]+)=", (ROOT / ".env.example").read_text()))
    assert {name.upper() for name in Settings.model_fields} == documented


def test_procfile_example_is_a_valid_procfile() -> None:
    procfile = parse_procfile((ROOT / "Procfile.example").read_text(), app_name="thumbs")
    assert [(e.name, e.handler) for e in procfile.entries] == [
        ("create", "CreateThumbnail.handler"),
        ("resize", "ResizeThumbnail.handler"),
    ]
