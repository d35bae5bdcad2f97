"""The CLI's HTTP client: TLS is verified whenever the API's URL is https."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from laambda.cli.client import ApiClient, CliError
from laambda.cli.credentials import Credentials
from tests.support.net import answering_server


@pytest.fixture
def self_signed_api(tmp_path: Path) -> Iterator[str]:
    """An API answering over TLS with a certificate no CA signed: its https URL."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    answer = (200, {"Content-Type": "application/json"}, b'{"apps": []}')
    with answering_server(*answer, tls=context) as port:
        yield f"https://127.0.0.1:{port}"


def test_an_https_api_with_a_certificate_no_ca_signed_is_refused(
    self_signed_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    client = ApiClient(Credentials(url=self_signed_api, token=None))
    with pytest.raises(CliError, match="cannot reach the laambda API"):
        client.request("GET", "/apps")
