"""Lambda's control-plane quota in front of the local cloud: an HTTP proxy on loopback.

On AWS a code change to N functions is bounded by Lambda's control plane, not by the
platform: calls other than GetFunction share about 15 requests a second per account and
region, GetFunction has 100 ("Lambda quotas", AWS Lambda Developer Guide: "Control plane API
request rate"). moto answers everything at once, so benchmarks and tests put this proxy
between laambda and moto's server to see what a deploy costs on a real account.

Lambda calls (told from S3 and the rest by the SigV4 credential scope `/lambda/`) take a
token from their bucket or are answered as AWS answers throttling: HTTP 429 with
`x-amzn-ErrorType: TooManyRequestsException` and the JSON body Lambda sends, which botocore
raises as `TooManyRequestsException`. Everything else passes through untouched. The proxy
counts the Lambda calls it forwarded (and throttled) per operation, for tests that assert how
many calls a deploy made, and keeps their timeline (when each arrived), for benchmarks that
show where a deploy's time went.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

RATE = 15.0  # requests a second shared by Lambda calls other than GetFunction
GET_FUNCTION_RATE = 100.0
THROTTLED_BODY = json.dumps(
    {"Type": "User", "message": "Rate exceeded", "__type": "TooManyRequestsException"}
).encode()
_GET_FUNCTION = re.compile(r"^/2015-03-31/functions/[^/]+/?$")
# Lambda's REST paths, the function (or other resource) names replaced, to name an operation
_OPERATIONS: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", _GET_FUNCTION, "GetFunction"),
    ("POST", re.compile(r"^/2015-03-31/functions/?$"), "CreateFunction"),
    ("PUT", re.compile(r"^/2015-03-31/functions/[^/]+/code$"), "UpdateFunctionCode"),
    (
        "PUT",
        re.compile(r"^/2015-03-31/functions/[^/]+/configuration$"),
        "UpdateFunctionConfiguration",
    ),
    ("POST", re.compile(r"^/2015-03-31/functions/[^/]+/versions$"), "PublishVersion"),
    ("POST", re.compile(r"^/2015-03-31/functions/[^/]+/aliases$"), "CreateAlias"),
    ("PUT", re.compile(r"^/2015-03-31/functions/[^/]+/aliases/[^/]+$"), "UpdateAlias"),
    ("GET", re.compile(r"^/2015-03-31/functions/[^/]+/aliases/[^/]+$"), "GetAlias"),
    ("DELETE", re.compile(r"^/2015-03-31/functions/[^/]+/aliases/[^/]+$"), "DeleteAlias"),
]
# calls that change something; the rest (Get*, List*) only read
MUTATING = frozenset(
    {
        "CreateFunction",
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",
        "PublishVersion",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
    }
)


def operation(method: str, path: str) -> str:
    """The Lambda operation a request is (`GetFunction`, `UpdateAlias`, …), else
    `<METHOD> <path>`."""
    for verb, pattern, name in _OPERATIONS:
        if method == verb and pattern.match(path):
            return name
    return f"{method} {path}"


class TokenBucket:
    """`rate` tokens a second, at most `burst` kept; take() is False when none is left."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = rate if burst is None else burst
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class QuotaProxy:
    """The proxy: start() it, point clients at `url`, stop() it. Counters: `calls` (Lambda
    calls forwarded, per operation) and `throttled` (answered 429, per operation); `timeline`:
    every Lambda call since the last reset() as (unix seconds it arrived, operation, whether
    it was admitted), in order of arrival."""

    def __init__(
        self, upstream: str, *, rate: float = RATE, get_function_rate: float = GET_FUNCTION_RATE
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.shared = TokenBucket(rate)
        self.get_function = TokenBucket(get_function_rate)
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.timeline: list[tuple[float, str, bool]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> QuotaProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget the counts (between the steps of a benchmark or a test)."""
        with self._lock:
            self.calls.clear()
            self.throttled.clear()
            self.timeline.clear()

    def mutating(self) -> int:
        """Lambda calls forwarded that change something."""
        with self._lock:
            return sum(n for name, n in self.calls.items() if name in MUTATING)

    def limited(self) -> int:
        """Lambda calls forwarded that count against the shared 15/s (all but GetFunction)."""
        with self._lock:
            return sum(n for name, n in self.calls.items() if name != "GetFunction")

    def history(self) -> list[tuple[float, str, bool]]:
        """A copy of the timeline (thread-safe)."""
        with self._lock:
            return list(self.timeline)

    def _admit(self, name: str) -> bool:
        bucket = self.get_function if name == "GetFunction" else self.shared
        admitted = bucket.take()
        with self._lock:
            (self.calls if admitted else self.throttled)[name] += 1
            self.timeline.append((time.time(), name, admitted))
        return admitted

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # an answer's headers and body are two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK of the headers, 40 ms a call on loopback
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib's name)
                pass

            def _forward(self) -> None:
                body = self._body()
                if "/lambda/aws4_request" in self.headers.get("Authorization", ""):
                    name = operation(self.command, urlsplit(self.path).path)
                    if not proxy._admit(name):
                        self._throttled()
                        return
                upstream = getattr(local, "connection", None)
                if upstream is None:
                    upstream = local.connection = http.client.HTTPConnection(*proxy.upstream)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
                headers.pop("Transfer-Encoding", None)
                headers["Content-Length"] = str(len(body))
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                except (OSError, http.client.HTTPException):
                    local.connection = None
                    upstream.close()
                    self.send_error(502)
                    return
                self.send_response(answer.status, answer.reason)
                # a HEAD's Content-Length is the object's, not of the (empty) answer
                dropped = ("transfer-encoding", "connection") + (
                    () if self.command == "HEAD" else ("content-length",)
                )
                for key, value in answer.getheaders():
                    if key.lower() not in dropped:
                        self.send_header(key, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _throttled(self) -> None:
                self.send_response(429, "Too Many Requests")
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
                self.send_header("x-amzn-RequestId", "laambda-quota-proxy")
                self.send_header("Content-Length", str(len(THROTTLED_BODY)))
                self.end_headers()
                self.wfile.write(THROTTLED_BODY)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward  # noqa: N815

        return Handler


def phases(
    history: list[tuple[float, str, bool]], start: float, end: float
) -> list[tuple[str, float]]:
    """Where a step's time went, from the proxy's `history` of one step that ran from `start`
    to `end` (unix seconds): (label, seconds) for the wait until its first Lambda call, the
    reads before its first change, its changes (first to last call that changes something,
    answered 429 or not), and the rest; with the mean and the longest gap between changes.
    Empty when the step made no Lambda call."""
    calls = [(at, name, admitted) for at, name, admitted in history if start <= at <= end]
    if not calls:
        return []
    changes = [at for at, name, admitted in calls if name in MUTATING and admitted]
    first = calls[0][0]
    if not changes:
        return [("until the first Lambda call", first - start), ("reads", end - first)]
    gaps = [later - earlier for earlier, later in zip(changes, changes[1:], strict=False)]
    return [
        ("until the first Lambda call", first - start),
        ("reads before the first change", changes[0] - first),
        (f"{len(changes)} changes, first to last", changes[-1] - changes[0]),
        ("after the last change", end - changes[-1]),
        ("mean gap between changes", sum(gaps) / len(gaps) if gaps else 0.0),
        ("longest gap between changes", max(gaps, default=0.0)),
        ("answered 429", float(sum(1 for _, _, admitted in calls if not admitted))),
    ]
