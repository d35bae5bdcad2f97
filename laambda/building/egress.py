"""The only way out of a build: an HTTP proxy on a unix socket that reaches allowed hosts only.

A build's installer runs without a network of its own (see sandbox.py); the proxy's socket is
the one thing mounted into it. The installer's HTTPS_PROXY points at a forwarder inside the
sandbox that relays to this socket, and this proxy then
- accepts only `CONNECT host:port` (HTTPS tunnels) and `GET`/`HEAD http://host/...`,
- only to a host named in LAAMBDA_BUILD_EGRESS_HOSTS (`host`: ports 80 and 443; `host:port`),
- resolves the host itself and connects only to an address outside the loopback, link-local,
  private, shared (CGNAT), unique-local, unspecified, multicast and reserved ranges, unless the
  address is in LAAMBDA_BUILD_EGRESS_NETWORKS. The address checked is the address connected
  to, so a name that resolves differently the second time changes nothing.
Every refusal is answered 403 and logged as a build line naming the setting to change.

The forbidden ranges are listed here rather than taken from `ipaddress.is_private`/`is_global`,
which also call documentation ranges (TEST-NET, 2001:db8::/32) private; mirrors sit there.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

HOSTS_SETTING = "LAAMBDA_BUILD_EGRESS_HOSTS"
NETWORKS_SETTING = "LAAMBDA_BUILD_EGRESS_NETWORKS"
FORBIDDEN_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared address space (CGNAT), RFC 6598
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local: the instance metadata service
        "172.16.0.0/12",  # RFC 1918
        "192.168.0.0/16",  # RFC 1918
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",  # unspecified
        "::1/128",  # loopback
        "fc00::/7",  # unique local (ULA)
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated, still routed by some)
        "ff00::/8",  # multicast
    )
)
_DEFAULT_PORTS = frozenset({80, 443})
_HEAD_LIMIT = 64 * 1024
_CONNECT_TIMEOUT = 15.0
_IDLE_TIMEOUT = 300.0
_CHUNK = 64 * 1024
SOCKET_PATH_MAX = 107  # bytes in a unix socket's path (sun_path's 108, less the final NUL)
# the deepest folder the socket <folder>/egress-<8 random>/egress.sock fits in
_DEEPEST_FOLDER = SOCKET_PATH_MAX - len("/egress-12345678/egress.sock")


class Refused(Exception):
    """A request the policy does not allow; the message says why and which setting allows it."""


@dataclass(frozen=True)
class EgressPolicy:
    """Which hosts (and ports) a build may reach, and which otherwise-forbidden networks."""

    hosts: frozenset[tuple[str, int | None]]  # (lower-case host, port or None for 80/443)
    networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, hosts: Iterable[str], networks: Iterable[str] = ()) -> EgressPolicy:
        """From setting values: hosts as `name` or `name:port`, networks in CIDR notation.

        Raises ValueError for a malformed entry.
        """
        parsed: set[tuple[str, int | None]] = set()
        for entry in hosts:
            name, port = _split_host(entry.strip())
            parsed.add((name, port))
        return cls(
            frozenset(parsed), tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        )

    def check_host(self, host: str, port: int) -> None:
        """Raise Refused unless `host:port` is allowed by name."""
        name = host.lower().rstrip(".")
        if (name, port) in self.hosts or ((name, None) in self.hosts and port in _DEFAULT_PORTS):
            return
        raise Refused(f"{host}:{port} is not an allowed package host (add it to {HOSTS_SETTING})")

    def check_address(self, address: Address) -> None:
        """Raise Refused when `address` is in a forbidden range and no allowed network."""
        plain = _embedded_ipv4(address) or address
        if any(plain in net or address in net for net in self.networks):
            return
        for net in FORBIDDEN_NETWORKS:
            if plain.version == net.version and plain in net:
                raise Refused(
                    f"{address} is in the forbidden range {net} (allow a network with "
                    f"{NETWORKS_SETTING})"
                )


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _split_host(authority: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` -> (lower-case host, port or None)."""
    if authority.startswith("["):
        host, bracket, rest = authority[1:].partition("]")
        if not bracket:
            raise ValueError(f"not a host or host:port: {authority!r}")
        port = rest.removeprefix(":") or None
    elif authority.count(":") == 1:
        host, port = authority.split(":")
    else:
        host, port = authority, None
    if not host or (port is not None and not port.isdigit()):
        raise ValueError(f"not a host or host:port: {authority!r}")
    return host.lower().rstrip("."), int(port) if port is not None else None


def open_connection(policy: EgressPolicy, host: str, port: int) -> socket.socket:
    """A TCP connection to an allowed host at an allowed address; Refused or OSError."""
    policy.check_host(host, port)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refusals: list[str] = []
    for family, kind, proto, _, sockaddr in infos:
        try:
            policy.check_address(ipaddress.ip_address(sockaddr[0]))
        except Refused as exc:
            refusals.append(str(exc))
            continue
        connection = socket.socket(family, kind, proto)
        connection.settimeout(_CONNECT_TIMEOUT)
        try:
            connection.connect(sockaddr)  # the address just checked: no second lookup
        except OSError:
            connection.close()
            continue
        connection.settimeout(None)
        return connection
    if refusals:
        raise Refused(f"{host} resolves only to forbidden addresses: {refusals[0]}")
    raise OSError(f"{host}:{port} did not answer")


def relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until both sides have finished, then close both."""
    open_ends = {a: b, b: a}
    try:
        while open_ends:
            ready, _, _ = select.select(list(open_ends), [], [], _IDLE_TIMEOUT)
            if not ready:
                return
            for source in ready:
                data = source.recv(_CHUNK)
                target = open_ends[source]
                if data:
                    target.sendall(data)
                    continue
                del open_ends[source]
                with suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
    except OSError:
        return
    finally:
        a.close()
        b.close()


class _Handler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        read = _read_head(client)
        if read is None:
            client.close()
            return
        head, early = read
        request_line, _, rest = head.partition(b"\r\n")
        try:
            method, target, version = request_line.decode("latin-1").split(" ")
            upstream, forward = self._open(method, target, version, rest)
        except Refused as exc:
            self.server.log(f" !     Build egress refused: {method} {target}: {exc}")
            _answer(client, "403 Forbidden", f"laambda refused this request: {exc}\n")
            return
        except (ValueError, OSError) as exc:
            _answer(client, "502 Bad Gateway", f"laambda could not reach it: {exc}\n")
            return
        if forward is None:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream.sendall(forward)
        if early:
            upstream.sendall(early)
        relay(client, upstream)

    def _open(
        self, method: str, target: str, version: str, rest: bytes
    ) -> tuple[socket.socket, bytes | None]:
        policy = self.server.policy
        if method == "CONNECT":
            host, port = _split_host(target)
            if port is None:
                raise ValueError(f"CONNECT needs host:port, got {target!r}")
            return open_connection(policy, host, port), None
        if method not in ("GET", "HEAD"):
            raise Refused(f"only CONNECT, GET and HEAD go out of a build, not {method}")
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"a proxy request needs an http:// URL, got {target!r}")
        port = url.port or 80
        connection = open_connection(policy, url.hostname, port)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = [
            line
            for line in rest.split(b"\r\n")
            if line and not line.lower().startswith((b"proxy-", b"connection:", b"keep-alive:"))
        ]
        forward = b"\r\n".join(
            [f"{method} {path} {version}".encode("latin-1"), *headers, b"Connection: close"]
        )
        return connection, forward + b"\r\n\r\n"


class _ProxyServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, policy: EgressPolicy, log: Callable[[str], None]) -> None:
        super().__init__(path, _Handler)
        self.policy = policy
        self.log = log


def _read_head(client: socket.socket) -> tuple[bytes, bytes] | None:
    """(request line and headers, bytes sent after them), or None if the head never ends."""
    data = b""
    client.settimeout(_CONNECT_TIMEOUT)
    while b"\r\n\r\n" not in data:
        try:
            chunk = client.recv(4096)
        except OSError:
            return None
        if not chunk or len(data) > _HEAD_LIMIT:
            return None
        data += chunk
    client.settimeout(None)
    head, _, early = data.partition(b"\r\n\r\n")
    return head, early


def _answer(client: socket.socket, status: str, text: str) -> None:
    body = text.encode()
    with suppress(OSError):
        client.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + body
        )
    client.close()


@contextmanager
def egress_proxy(
    policy: EgressPolicy, *, log: Callable[[str], None], folder: Path | None = None
) -> Iterator[Path]:
    """Serve the proxy on a fresh unix socket for the block; yields the socket's path.

    The socket is made in a new private folder inside `folder` (default: the system's temporary
    folder; used instead when `folder` is too deep for a socket path), is closed and removed
    when the block ends, and `log` gets one line per refused request.
    """
    deep = folder is None or len(bytes(folder)) > _DEEPEST_FOLDER
    parent = None if deep else folder
    with tempfile.TemporaryDirectory(prefix="egress-", dir=parent) as made:
        path = Path(made) / "egress.sock"
        server = _ProxyServer(str(path), policy, log)
        path.chmod(0o666)  # the installer may run as another user inside its container
        Path(made).chmod(0o711)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
        thread.daemon = True
        thread.start()
        try:
            yield path
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
