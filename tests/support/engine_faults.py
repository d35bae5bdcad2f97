"""A relay in front of a real Docker-API engine's unix socket that fails image inspections
(and counts what clients ask).

podman's service answers `GET /images/<name>/json` with 500 ("locating item named manifest")
while another podman process writes its store; this relay gives the builder that answer on
demand and passes every other request, byte for byte, to the real engine.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_INSPECT = re.compile(rb"^GET /(v[0-9.]+/)?images/.+/json(\?\S*)? HTTP/1\.[01]\r\n")
_VERSION = re.compile(rb"^GET /(v[0-9.]+/)?version HTTP/1\.[01]\r\n")
_PODMAN_500 = (
    b'{"cause":"file does not exist","message":"failed to convert ImageData to ImageInspect: '
    b'locating item named \\"manifest\\": file does not exist","response":500}'
)


class FaultyEngine:
    """Counts the image inspections it saw (`inspections`) and answers the first `fail` of
    them (all of them when `fail` is None) with podman's 500; counts the clients' questions
    of the engine's version (`versions`); `docker_host` is its address."""

    def __init__(self, upstream: str, folder: Path, fail: int | None) -> None:
        self.upstream = upstream.removeprefix("unix://")
        self.path = folder / "engine.sock"
        self.fail = fail
        self.inspections = 0
        self.failed = 0
        self.versions = 0
        self._lock = threading.Lock()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def _should_fail(self, head: bytes) -> bool:
        if _VERSION.match(head):
            with self._lock:
                self.versions += 1
        if not _INSPECT.match(head):
            return False
        with self._lock:
            self.inspections += 1
            if self.fail is None or self.failed < self.fail:
                self.failed += 1
                return True
        return False

    def handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        if self._should_fail(head):
            client.sendall(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(_PODMAN_500)}\r\nConnection: close\r\n\r\n".encode()
                + _PODMAN_500
            )
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(self.upstream)
        upstream.sendall(head)
        with upstream:
            relay = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            relay.start()
            _pipe(client, upstream)
            relay.join()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    try:
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@contextmanager
def faulty_engine(upstream: str, folder: Path, *, fail: int | None) -> Iterator[FaultyEngine]:
    """Serve a FaultyEngine in front of `upstream` (a `unix://` DOCKER_HOST) until exit."""
    engine = FaultyEngine(upstream, folder, fail)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            engine.handle(self.request)

    server = socketserver.ThreadingUnixStreamServer(str(engine.path), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
