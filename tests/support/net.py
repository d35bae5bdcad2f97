"""Loopback ports for the servers tests start."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (the kernel's choice, so parallel
    test sessions never pick the same one while both hold it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def answering_server(
    status: int, headers: dict[str, str], body: bytes, *, tls: ssl.SSLContext | None = None
) -> Iterator[int]:
    """An HTTP server on a free port of 127.0.0.1 (over TLS when `tls` is a server context)
    that answers every GET with `status`, `headers` and `body` and logs nothing; yields its
    port, and stops it on the way out."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
