"""Function URLs answered on this machine: `http://127.0.0.1:<port>/<url-id>/<path>` turns an
HTTP request into the function URL event (payload format 2.0), invokes the function the URL
points at, and turns its answer back into HTTP.

Event and response rules from "Invoking Lambda function URLs" (AWS Lambda Developer Guide):
headers lower-cased with repeated ones joined by commas, cookies apart, a body that is not
UTF-8 text base64-encoded; an answer without `statusCode` is returned as JSON with 200; a
function error is a 502 "Internal Server Error".
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the URL id
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def event(request: Request, url_id: str, region: str) -> dict[str, Any]:
    """The function URL event (payload format 2.0) for a request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name.lower() == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    params: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    text = _is_text(headers.get("content-type", ""))
    now = datetime.now(UTC)
    domain = headers.get("host", f"{url_id}.lambda-url.{region}.on.aws")
    shaped: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": domain,
            "domainPrefix": url_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(request.body) and not text,
    }
    if cookies:
        shaped["cookies"] = cookies
    if params:
        shaped["queryStringParameters"] = params
    if request.body:
        shaped["body"] = (
            request.body.decode("utf-8", "replace")
            if text
            else base64.b64encode(request.body).decode()
        )
    return shaped


def _is_text(content_type: str) -> bool:
    return not content_type or content_type.startswith(TEXT_TYPES)


def response(payload: bytes, function_error: str | None) -> Response:
    """The HTTP answer for what the function returned."""
    failed = Response(502, [("content-type", "text/plain")], b"Internal Server Error")
    if function_error:
        return failed
    try:
        answer = json.loads(payload) if payload else None
    except ValueError:
        return failed
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return Response(200, [("content-type", "application/json")], json.dumps(answer).encode())
    headers = [(str(k), str(v)) for k, v in (answer.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in answer.get("cookies") or []]
    body = answer.get("body")
    if body is None:
        data = b""
    elif answer.get("isBase64Encoded"):
        data = base64.b64decode(str(body))
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return Response(int(answer["statusCode"]), headers, data)


# the invoker: (url id, the event as JSON) -> (payload, function error), or None for no URL
Invoker = Callable[[str, bytes], tuple[bytes, str | None] | None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        url_id, _, rest = parts.path.lstrip("/").partition("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request(
            self.command,
            "/" + rest,
            parts.query,
            list(self.headers.items()),
            body,
            self.client_address[0],
        )
        shaped = json.dumps(event(request, url_id, self.server.region)).encode()
        answered = self.server.invoker(url_id, shaped)
        if answered is None:
            reply = Response(404, [("content-type", "application/json")], b'{"Message":null}')
        else:
            reply = response(*answered)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Requests are the function's business; its own logs show them."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], invoker: Invoker, region: str) -> None:
        super().__init__(address, _Handler)
        self.invoker = invoker
        self.region = region


class UrlServer:
    """Serves function URLs on host:port (0: any free port); `base` is its address."""

    def __init__(self, invoker: Invoker, *, host: str, port: int, region: str) -> None:
        self._server = _Server((host, port), invoker, region)
        self.base = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.started = time.monotonic()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
