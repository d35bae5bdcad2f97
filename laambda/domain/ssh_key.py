"""OpenSSH public keys as users paste them: validated and fingerprinted like `ssh-keygen -l`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


class KeyProblem(ValueError):
    pass


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    blob: bytes
    comment: str

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    @property
    def openssh(self) -> str:
        return f"{self.key_type} {base64.b64encode(self.blob).decode()}"


def parse_public_key(text: str) -> PublicKey:
    """Parse one `type base64 [comment]` line; raises KeyProblem saying what is wrong."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2 or "PRIVATE KEY" in text:
        raise KeyProblem(
            "not an OpenSSH public key: expected a line like 'ssh-ed25519 AAAA… you@host' "
            "(the contents of ~/.ssh/id_ed25519.pub, not the private key)"
        )
    key_type, encoded = parts[0], parts[1]
    if key_type not in KEY_TYPES:
        raise KeyProblem(f"unsupported key type '{key_type}': use one of {', '.join(KEY_TYPES)}")
    try:
        blob = base64.b64decode(encoded, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4 : 4 + length].decode()
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise KeyProblem("the key's base64 part is damaged; paste the whole line again") from None
    if embedded != key_type:
        raise KeyProblem(f"the key says it is '{key_type}' but its data is '{embedded}'")
    return PublicKey(key_type=key_type, blob=blob, comment=parts[2] if len(parts) > 2 else "")
