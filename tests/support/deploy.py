"""Deploy helpers: an artifact with its sha256 as Lambda reports it, and injected AWS errors."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str

    @property
    def lambda_sha(self) -> str:
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def injected_error(
    code: str, message: str, status: int = 400
) -> tuple[AWSResponse, dict[str, Any]]:
    """What a before-call hook returns to make botocore raise this AWS error for the call."""
    http = AWSResponse("http://injected.invalid", status, HTTPHeaders(), None)
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return http, parsed
