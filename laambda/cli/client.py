"""The REST API, as the CLI sees it: JSON in and out, and every failure as one line for people.

The CLI talks to the API only (never to the database or AWS), so anything it can do, a script
with a token can do too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from laambda.cli.credentials import Credentials


class CliError(Exception):
    """Shown as `laambda: <message>` with a non-zero exit."""


@dataclass(frozen=True)
class ServerEvent:
    """One server-sent event: its type ("message" unless named) and its data."""

    kind: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


# the proxies httpx takes from the environment for a plain-http URL (its trust_env)
_HTTP_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _verifies(url: str) -> bool:
    """Whether the client loads the CA bundle to verify TLS: for an https URL, or a proxy that
    may be reached over TLS, yes. A plain-http URL makes no TLS connection (the client sends
    only to paths of the API's URL and follows no redirect), and loading the bundle was about
    35 ms of CPU, a third of a command's own."""
    return url.startswith("https://") or any(os.environ.get(v) for v in _HTTP_PROXY_VARIABLES)


# a server-sent event stream is quiet at most this long (the API sends a keep-alive at 15 s)
STREAM_READ_SECONDS = 120.0


class ApiClient:
    def __init__(self, credentials: Credentials, *, timeout: float = 60) -> None:
        self.url = credentials.url.rstrip("/")
        headers = {"Authorization": f"Bearer {credentials.token}"} if credentials.token else {}
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, verify=_verifies(self.url)
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def download(self, path: str) -> bytes:
        """GET a binary answer (an artifact's zip): its bytes."""
        return self._send("GET", path).content

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, "/v1" + path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach the laambda API at {self.url} ({exc.__class__.__name__}); "
                "is it running? Log in to another with `laambda login --api-url URL`"
            ) from None
        if response.status_code == 401:
            raise CliError(f"{_detail(response)} (API at {self.url})")
        if response.is_error:
            raise CliError(_detail(response))
        return response

    def upload(self, path: str, tarball: Path, **params: Any) -> Any:
        """POST a gzip'd tar file as the request body (streamed from disk); its JSON answer."""
        with open(tarball, "rb") as body:
            return self.request(
                "POST",
                path,
                content=body,
                headers={"Content-Type": "application/gzip"},
                params={k: v for k, v in params.items() if v is not None},
                timeout=httpx.Timeout(60.0, write=600.0),
            )

    def events(self, path: str) -> Iterator[ServerEvent]:
        """GET a text/event-stream answer: its events as they come (comments skipped)."""
        timeout = httpx.Timeout(30.0, read=STREAM_READ_SECONDS)
        try:
            with self.http.stream("GET", "/v1" + path, timeout=timeout) as response:
                if response.is_error:
                    response.read()
                    raise CliError(_detail(response))
                yield from _parse_events(response.iter_lines())
        except httpx.TransportError as exc:
            raise CliError(
                f"lost the connection to the laambda API at {self.url} while following the "
                f"log ({exc.__class__.__name__}); the build goes on: see `laambda builds`"
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request(
            "DELETE", path, params={k: v for k, v in params.items() if v is not None}
        )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"the API answered {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return f"the API answered {response.status_code}"


def _parse_events(lines: Iterator[str]) -> Iterator[ServerEvent]:
    """Server-sent events from their lines (https://html.spec.whatwg.org/#event-stream)."""
    kind, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield ServerEvent(kind, "\n".join(data))
            kind, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
    if data:
        yield ServerEvent(kind, "\n".join(data))
