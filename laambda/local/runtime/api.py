"""The Lambda Runtime API an execution environment's runtime client talks to, on 127.0.0.1.

Paths, headers and status codes as AWS documents them ("Using the Lambda runtime API for custom
runtimes"): GET /2018-06-01/runtime/invocation/next blocks until there is an event and answers
it with the Lambda-Runtime-* headers; POST .../invocation/{id}/response, .../{id}/error and
/2018-06-01/runtime/init/error answer 202. awslambdaric's native client needs the trace id
header and an explicit Content-Length: 0 on the 202s (notes/local-runtime.md).
"""

from __future__ import annotations

import os
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

PREFIX = "/2018-06-01/runtime"
RUNTIME_API_PORT = 9001  # where a sandboxed function's forwarder listens (Lambda's own port)


@dataclass(frozen=True)
class Event:
    request_id: str
    payload: bytes
    deadline_ms: int  # Unix time in ms
    function_arn: str


class Host(Protocol):
    """The execution environment the API serves."""

    def next_event(self) -> Event | None:
        """The next event, waiting for it; None once the environment stops."""

    def answered(self, request_id: str, *, error: bool, body: bytes) -> None: ...

    def init_failed(self, body: bytes) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small writes must not wait for the client's ACK (40 ms)
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        event = self.server.host.next_event()
        if event is None:
            self.close_connection = True
            self._reply(410, b'{"errorType":"Gone"}')
            return
        self._reply(
            200,
            event.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": event.request_id,
                "Lambda-Runtime-Deadline-Ms": str(event.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": event.function_arn,
                "Lambda-Runtime-Trace-Id": _trace_id(event.request_id),
            },
        )

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.removeprefix(PREFIX).strip("/").split("/")
        if parts == ["init", "error"]:
            self.server.host.init_failed(body)
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            self.server.host.answered(parts[1], error=parts[2] == "error", body=body)
        else:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        self._reply(202, b"")

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        head = [
            f"{self.protocol_version} {status} {self.responses[status][0]}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        # the head and the body in one write: a second small write would wait for an ACK
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Requests are not logged: they are the runtime's heartbeat."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: Host) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.host = host

    def handle_error(self, request: object, client_address: object) -> None:
        """A runtime killed mid-request (its timeout) is not an error of the API."""


class _UnixHandler(_Handler):
    disable_nagle_algorithm = False  # no TCP options on a unix socket


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, host: Host, path: Path) -> None:
        super().__init__(str(path), _UnixHandler)
        os.chmod(path, 0o600)
        self.host = host

    def handle_error(self, request: object, client_address: object) -> None:
        """A runtime killed mid-request (its timeout) is not an error of the API."""


class RuntimeApi:
    """One environment's Runtime API, served from a thread: on 127.0.0.1 (`address` is what
    AWS_LAMBDA_RUNTIME_API holds, "127.0.0.1:port"), or on the unix socket `path` for a
    sandboxed function, which reaches it through its forwarder (sandbox.py)."""

    def __init__(self, host: Host, path: Path | None = None) -> None:
        self._server: socketserver.BaseServer
        if path is None:
            self._server = _Server(host)
            self.address = f"127.0.0.1:{self._server.server_address[1]}"
        else:
            self._server = _UnixServer(host, path)
            self.address = f"127.0.0.1:{RUNTIME_API_PORT}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _trace_id(request_id: str) -> str:
    """An X-Ray trace header of the documented form (awslambdaric needs one to be there)."""
    return f"Root=1-00000000-{request_id.replace('-', '')[:24]};Sampled=0"
