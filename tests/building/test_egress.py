"""The egress policy: allowed hosts by name, forbidden address ranges by number."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from laambda.building.egress import SOCKET_PATH_MAX, EgressPolicy, Refused, egress_proxy

DEFAULT = EgressPolicy.of(["pypi.org", "files.pythonhosted.org", "mirror.internal:8080"])


@pytest.mark.parametrize(
    ("host", "port"),
    [("pypi.org", 443), ("PyPI.org.", 443), ("pypi.org", 80), ("mirror.internal", 8080)],
)
def test_allowed_hosts(host: str, port: int) -> None:
    DEFAULT.check_host(host, port)


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("evil.pypi.org", 443),
        ("pypi.org.evil.example", 443),
        ("pypi.org", 22),
        ("mirror.internal", 443),
        ("169.254.169.254", 80),
    ],
)
def test_refused_hosts_name_the_setting(host: str, port: int) -> None:
    with pytest.raises(Refused, match=r"add it to LAAMBDA_BUILD_EGRESS_HOSTS\)$"):
        DEFAULT.check_host(host, port)


@pytest.mark.parametrize(
    "address",
    [
        "203.0.113.80",  # TEST-NET-3: where this machine's package mirror answers
        "151.101.0.223",
        "2a04:4e42::223",
        "2001:db8::1",  # documentation range, like TEST-NET: not forbidden
    ],
)
def test_public_and_documentation_addresses_are_allowed(address: str) -> None:
    DEFAULT.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("127.0.0.1", "127.0.0.0/8"),
        ("127.8.9.10", "127.0.0.0/8"),
        ("0.0.0.0", "0.0.0.0/8"),
        ("10.255.255.53", "10.0.0.0/8"),
        ("172.16.0.1", "172.16.0.0/12"),
        ("192.168.1.1", "192.168.0.0/16"),
        ("100.64.0.1", "100.64.0.0/10"),
        ("169.254.169.254", "169.254.0.0/16"),
        ("224.0.0.251", "224.0.0.0/4"),
        ("255.255.255.255", "240.0.0.0/4"),
        ("::1", "::1/128"),
        ("::", "::/128"),
        ("fd00:ec2::254", "fc00::/7"),
        ("fe80::1", "fe80::/10"),
        ("ff02::1", "ff00::/8"),
        ("::ffff:127.0.0.1", "127.0.0.0/8"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "169.254.0.0/16"),  # NAT64 of the metadata service
        ("2002:0a00:0001::1", "10.0.0.0/8"),  # 6to4 of 10.0.0.1
    ],
)
def test_forbidden_addresses_name_the_range_and_setting(address: str, network: str) -> None:
    parsed = ipaddress.ip_address(address)
    with pytest.raises(Refused) as info:
        DEFAULT.check_address(parsed)
    assert str(info.value) == (
        f"{parsed} is in the forbidden range {network} "
        "(allow a network with LAAMBDA_BUILD_EGRESS_NETWORKS)"
    )


def test_an_allowed_network_opens_only_itself() -> None:
    policy = EgressPolicy.of(["mirror.internal"], ["10.1.0.0/16"])
    policy.check_address(ipaddress.ip_address("10.1.2.3"))
    policy.check_address(ipaddress.ip_address("::ffff:10.1.2.3"))
    with pytest.raises(Refused):
        policy.check_address(ipaddress.ip_address("10.2.0.1"))


@pytest.mark.parametrize("entry", ["", "pypi.org:https", "[::1"])
def test_malformed_hosts_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="not a host"):
        EgressPolicy.of([entry])


@pytest.mark.parametrize("spare", [1, 0, -1, -30])
def test_the_proxy_socket_fits_however_deep_the_build_folder(tmp_path: Path, spare: int) -> None:
    """A folder one byte short of, at, or past the deepest a socket fits below: the socket is
    made there, or in the system's temporary folder, and answers either way."""
    base = len(bytes(tmp_path)) + 1
    depth = SOCKET_PATH_MAX - len("/egress-12345678/egress.sock") - spare
    folder = tmp_path / ("d" * max(depth - base, 1))
    folder.mkdir()
    refused: list[str] = []
    with egress_proxy(DEFAULT, log=refused.append, folder=folder) as path:
        assert len(bytes(path)) <= SOCKET_PATH_MAX
        assert path.is_relative_to(folder) == (len(bytes(folder)) + 28 <= SOCKET_PATH_MAX)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))
