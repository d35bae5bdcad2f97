"""What may invoke a function, written as one SOURCE string a person can type.

Pure: `parse_source("arn:aws:sqs:…", batch_size=5) -> SourceSpec`. Every error says what
was wrong and shows a source that works, because the reader typed it on a command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from laambda.errors import InvalidInput

Kind = Literal["sqs", "kinesis", "dynamodb", "schedule", "http"]
STREAMS: tuple[Kind, ...] = ("sqs", "kinesis", "dynamodb")

EXAMPLES = (
    "arn:aws:sqs:us-east-1:123456789012:jobs, "
    "arn:aws:kinesis:us-east-1:123456789012:stream/clicks, "
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000, "
    "schedule:rate(5 minutes), schedule:cron(0 12 * * ? *), http, http:aws_iam"
)

# Lambda's bounds on BatchSize per kind of source, and its defaults when none is given
BATCH_SIZES: dict[str, tuple[int, int, int]] = {
    "sqs": (1, 10_000, 10),
    "sqs-fifo": (1, 10, 10),
    "kinesis": (1, 10_000, 100),
    "dynamodb": (1, 10_000, 100),
}

_ARN = re.compile(r"^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d*):(.+)$")
_SQS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_KINESIS = re.compile(r"^stream/[A-Za-z0-9_.-]{1,128}$")
_DYNAMO_STREAM = re.compile(r"^table/[A-Za-z0-9_.-]{3,255}/stream/[0-9T:.-]+$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#L W-]+$")
HTTP_AUTH = {"": "NONE", "none": "NONE", "aws_iam": "AWS_IAM"}


@dataclass(frozen=True)
class SourceSpec:
    """One parsed source: `source` is its canonical spelling, the key it is stored under."""

    kind: Kind
    source: str
    arn: str | None = None
    expression: str | None = None  # schedule: rate(...) or cron(...)
    auth: str | None = None  # http: NONE or AWS_IAM
    batch_size: int | None = None  # streams only; Lambda's default when not given

    @property
    def is_stream(self) -> bool:
        return self.kind in STREAMS


def parse_source(text: str, *, batch_size: int | None = None) -> SourceSpec:
    """Parse a SOURCE; raise InvalidInput saying what is wrong and what would work."""
    source = text.strip()
    if not source:
        raise InvalidInput(f"an event source is needed, such as: {EXAMPLES}")
    if source.startswith("arn:"):
        return _stream(source, batch_size)
    if batch_size is not None:
        raise InvalidInput(
            f"batch size applies to SQS, Kinesis and DynamoDB stream sources, not to {source!r}"
        )
    if source.startswith("schedule:"):
        return _schedule(source.removeprefix("schedule:").strip())
    if source == "http" or source.startswith("http:"):
        auth = source.partition(":")[2].strip().lower()
        if auth not in HTTP_AUTH:
            raise InvalidInput(
                f"unknown auth {auth!r} for a function URL: use http (public) or http:aws_iam"
            )
        mode = HTTP_AUTH[auth]
        return SourceSpec("http", "http:aws_iam" if mode == "AWS_IAM" else "http", auth=mode)
    raise InvalidInput(f"{source!r} is not an event source; use one of: {EXAMPLES}")


def _stream(source: str, batch_size: int | None) -> SourceSpec:
    match = _ARN.match(source)
    if match is None:
        raise InvalidInput(
            f"{source!r} is not a well-formed ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE, "
            "e.g. arn:aws:sqs:us-east-1:123456789012:jobs)"
        )
    service, region, resource = match.group(2), match.group(3), match.group(5)
    if service not in ("sqs", "kinesis", "dynamodb"):
        raise InvalidInput(
            f"{service} ARNs are not supported as event sources: use an SQS queue, a Kinesis "
            "stream or a DynamoDB stream ARN, a schedule:… or http"
        )
    if not region or len(match.group(4)) != 12:
        raise InvalidInput(
            f"{source!r} is not a well-formed ARN: it needs a region and a 12-digit account"
        )
    kind: Kind
    if service == "sqs":
        if not _SQS_NAME.match(resource):
            raise InvalidInput(f"{source!r} does not name an SQS queue (…:123456789012:QUEUE)")
        kind, bounds = "sqs", BATCH_SIZES["sqs-fifo" if resource.endswith(".fifo") else "sqs"]
    elif service == "kinesis":
        if not _KINESIS.match(resource):
            raise InvalidInput(
                f"{source!r} does not name a Kinesis stream (…:123456789012:stream/NAME)"
            )
        kind, bounds = "kinesis", BATCH_SIZES["kinesis"]
    else:
        if resource.startswith("table/") and "/stream/" not in resource:
            raise InvalidInput(
                f"{source!r} is a DynamoDB table, not its stream: enable the table's stream and "
                "use the stream ARN (…:table/NAME/stream/LABEL)"
            )
        if not _DYNAMO_STREAM.match(resource):
            raise InvalidInput(
                f"{source!r} does not name a DynamoDB stream (…:table/NAME/stream/LABEL)"
            )
        kind, bounds = "dynamodb", BATCH_SIZES["dynamodb"]
    low, high, default = bounds
    size = default if batch_size is None else batch_size
    if not low <= size <= high:
        raise InvalidInput(
            f"batch size for {source!r} must be between {low} and {high}, not {size}"
        )
    return SourceSpec(kind, source, arn=source, batch_size=size)


def _schedule(expression: str) -> SourceSpec:
    hint = "use schedule:rate(5 minutes) or schedule:cron(0 12 * * ? *)"
    rate = _RATE.match(expression)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise InvalidInput(f"a rate must be at least 1, not {value}: {hint}")
        if (value == 1) != (not unit.endswith("s")):
            right = unit.rstrip("s") if value == 1 else f"{unit}s"
            raise InvalidInput(f"write rate({value} {right}), as EventBridge requires")
        return SourceSpec("schedule", f"schedule:{expression}", expression=expression)
    cron = _CRON.match(expression)
    if cron is not None:
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise InvalidInput(
                f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
                f"not {len(fields)}: {hint}"
            )
        if not all(_CRON_FIELD.match(field) for field in fields):
            raise InvalidInput(f"cron({cron.group(1)}) has characters cron does not use: {hint}")
        if "?" not in (fields[2], fields[4]):
            raise InvalidInput(
                "cron needs ? in day-of-month or day-of-week (EventBridge cannot take both): "
                "e.g. schedule:cron(0 12 * * ? *)"
            )
        canonical = f"cron({' '.join(fields)})"
        return SourceSpec("schedule", f"schedule:{canonical}", expression=canonical)
    raise InvalidInput(f"{expression!r} is not a schedule: {hint}")
