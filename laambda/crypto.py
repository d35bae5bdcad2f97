"""Config vars are encrypted at rest with a key derived from LAAMBDA_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from laambda.errors import LaambdaError


class Cipher:
    """Authenticated encryption (Fernet) of strings and JSON documents."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"laambda-config-vars:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise LaambdaError(
                "stored config cannot be decrypted: LAAMBDA_SECRET_KEY differs from the key "
                "it was written with",
                500,
            ) from None

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, sort_keys=True))

    def decrypt_json(self, token: bytes) -> Any:
        return json.loads(self.decrypt(token))
