from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from laambda.api.schemas.error import NO_NUL
from laambda.api.schemas.request import RequestBody
from laambda.domain.event_source import EXAMPLES


class EventSourceCreate(RequestBody):
    source: str = Field(
        max_length=2048,
        description=f"what invokes the function: {EXAMPLES}",
        json_schema_extra=NO_NUL,
    )
    batch_size: int | None = Field(
        default=None, ge=1, le=10_000, description="SQS/Kinesis/DynamoDB only; Lambda's default"
    )


class EventSourceRead(BaseModel):
    id: int
    function: str  # the Procfile entry
    function_name: str  # the Lambda function, <app>-<entry>
    kind: str  # sqs, kinesis, dynamodb, schedule, http
    source: str
    batch_size: int | None
    url: str | None  # http: the function URL
    applied: bool  # False until the function has a live release in AWS
    applied_at: datetime | None
    created_at: datetime
