from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RunSpecRead(BaseModel):
    """What `laambda run` needs to run one function on the caller's machine: the build whose
    artifact to download (GET /v1/apps/{app}/builds/{build_id}/artifact), how to run it, and
    the release's config vars (empty when `config=false`). timeout in seconds, memory in MB."""

    model_config = ConfigDict(from_attributes=True)

    app: str
    function: str
    entry: str
    build_id: int
    runtime: str
    handler: str
    timeout: int
    memory: int
    region: str
    artifact_sha256: str
    artifact_size: int | None
    environment: dict[str, str]
