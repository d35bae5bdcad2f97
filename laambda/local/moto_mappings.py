"""Make moto's event source mappings follow an alias, as Lambda's do.

On Lambda, a mapping created on an alias keeps the alias: its FunctionArn ends in `:live`, and
each batch invokes the version the alias points at by then ("CreateEventSourceMapping",
FunctionName: "a version or alias ARN", AWS Lambda API Reference). moto 5 resolves the alias
when the mapping is made and keeps that version's ARN, so a mapping on `live` went on invoking
an old release, and once laambda pruned that version every message sent to the queue failed
with "Function not found: …:function:<name>:<version>". moto also leaves a deleted mapping
attached to its queue, stream or table, where it went on being invoked; and it runs a
DynamoDB stream's mapping on `$LATEST` whatever its qualifier.

moto's server runs in the process that starts it (moto_server.start: `laambda up`'s local
cloud, the tests), so patching its model there fixes the server.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import EventSourceMapping, LambdaBackend, LambdaStorage
from moto.dynamodb.models import dynamodb_backends
from moto.kinesis.models import kinesis_backends
from moto.sqs.models import sqs_backends

_ORIGINAL = (
    LambdaBackend.create_event_source_mapping,
    LambdaBackend.update_event_source_mapping,
    LambdaBackend.delete_event_source_mapping,
    LambdaStorage.get_arn,
)


def install() -> None:
    """Patch moto's Lambda model in this process (idempotent)."""
    LambdaBackend.create_event_source_mapping = _create  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = _update  # type: ignore[method-assign]
    LambdaBackend.delete_event_source_mapping = _delete  # type: ignore[method-assign]
    LambdaStorage.get_arn = _get_arn  # type: ignore[method-assign]


def _create(self: Any, spec: dict[str, Any]) -> EventSourceMapping:
    named = str(spec.get("FunctionName") or "")
    esm: EventSourceMapping = _ORIGINAL[0](self, spec)
    _follow(self, esm, named)
    return esm


def _update(self: Any, uuid: str, spec: dict[str, Any]) -> EventSourceMapping | None:
    esm: EventSourceMapping | None = _ORIGINAL[1](self, uuid, spec)
    if esm is not None and spec.get("FunctionName"):
        _follow(self, esm, str(spec["FunctionName"]))
    return esm


def _delete(self: Any, uuid: str) -> EventSourceMapping | None:
    esm: EventSourceMapping | None = _ORIGINAL[2](self, uuid)
    if esm is not None:
        for attached in _attached(self, esm):
            for key in [key for key, held in attached.items() if held is esm]:
                del attached[key]
    return esm


def _get_arn(self: Any, arn: str) -> Any:
    """The function a (qualified) ARN names: a version, or the version its alias points at
    now; moto's own drops the qualifier and answers `$LATEST`."""
    _, name, qualifier = self.split_function_arn(arn)
    if qualifier is None:
        return _ORIGINAL[3](self, arn)
    try:
        return self.get_function_by_name_with_qualifier(name, qualifier)
    except UnknownFunctionException:
        return None


def _follow(backend: Any, esm: EventSourceMapping, named: str) -> None:
    """Give a mapping made or pointed on an alias that alias as its FunctionArn (moto gave it
    the alias's version), and file it under its FunctionArn where its queue or table looks
    mappings up to invoke them (moto leaves it under the ARN it was created with)."""
    qualifier = _alias_of(named)
    if qualifier is not None:
        unqualified, _, _ = backend._lambdas.split_function_arn(esm.function_arn)
        esm.function_arn = f"{unqualified}:{qualifier}"
    if esm.event_source_arn.split(":")[2] == "kinesis":
        return  # a stream files its mapping under the stream's ARN and reads function_arn
    for attached in _attached(backend, esm):
        for key in [key for key, held in attached.items() if held is esm]:
            del attached[key]
        attached[esm.function_arn] = esm


def _alias_of(named: str) -> str | None:
    """The alias in a FunctionName (`f:live`, `arn:…:function:f:live`), None for a bare name,
    a version or `$LATEST`."""
    qualifier = named.split(":function:")[-1].partition(":")[2]
    if not qualifier or qualifier.isdigit() or qualifier == "$LATEST":
        return None
    return qualifier


def _attached(backend: Any, esm: EventSourceMapping) -> list[dict[str, Any]]:
    """The mappings dicts of the queue, stream or table the mapping reads: where moto looks
    for mappings to invoke when a message or record arrives."""
    account, region = backend.account_id, backend.region_name
    arn = esm.event_source_arn
    service = arn.split(":")[2]
    if service == "sqs":
        queues = sqs_backends[account][region].queues.values()
        return [q.lambda_event_source_mappings for q in queues if q.queue_arn == arn]
    if service == "kinesis":
        streams = kinesis_backends[account][region].streams.values()
        return [s.lambda_event_source_mappings for s in streams if s.arn == arn]
    tables = dynamodb_backends[account][region].tables.values()
    return [
        t.lambda_event_source_mappings
        for t in tables
        if t.latest_stream_label and arn.startswith(f"{t.table_arn}/stream/")
    ]
