"""The CLI as users run it (a subprocess), against the API served by uvicorn on a socket
(tests/support/cli.py)."""

from tests.support.cli import cli, held_cli

__all__ = ["cli", "held_cli"]
