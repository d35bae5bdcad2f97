"""What the local runtime is asked to run and what one invocation gave (pure data).

The lines Lambda writes around every invocation (START, END, REPORT, the timeout line) and the
error shapes it returns are formatted here, from AWS's documentation of the Lambda runtime
environment ("Lambda function logging", "Runtime API", "Troubleshoot invocation issues").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class LocalFunction:
    """One version of one function: its code (a zip, fetched by `code` only when the unpacked
    copy of `code_sha256` is not cached yet), how to run it and its configuration.

    timeout in seconds, memory_mb in MB, environment = the function's own variables."""

    name: str
    version: str  # "$LATEST", "3"
    arn: str  # qualified with the version
    handler: str
    runtime: str  # "python3.12", "nodejs20.x"
    timeout: float
    memory_mb: int
    region: str
    code_sha256: str  # hex
    code: Callable[[], bytes]
    environment: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> tuple[object, ...]:
        """What an execution environment is reused for: the same version with the same code
        and configuration (Lambda starts new environments after any change)."""
        return (
            self.arn,
            self.code_sha256,
            self.handler,
            self.runtime,
            self.timeout,
            self.memory_mb,
            tuple(sorted(self.environment.items())),
        )


@dataclass(frozen=True)
class Outcome:
    """One invocation: the payload returned (the handler's answer or Lambda's error shape),
    `function_error` "Unhandled" when the function failed, its own log lines (without
    START/END/REPORT), duration in ms, init duration in ms on a cold start."""

    request_id: str
    payload: bytes
    function_error: str | None
    lines: list[str]
    duration_ms: float
    init_ms: float | None
    max_memory_mb: int
    log_stream: str
    timed_out: bool = False

    def log_lines(self, spec: LocalFunction) -> list[str]:
        """Every line Lambda writes for the invocation, in order."""
        return [
            start_line(self.request_id, spec.version),
            *self.lines,
            f"END RequestId: {self.request_id}",
            report_line(self, spec.memory_mb),
        ]


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def report_line(outcome: Outcome, memory_mb: int) -> str:
    """Lambda's REPORT line: durations in ms, billed in whole ms, memory in MB."""
    parts = [
        f"REPORT RequestId: {outcome.request_id}",
        f"Duration: {outcome.duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(outcome.duration_ms + (outcome.init_ms or 0))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {outcome.max_memory_mb} MB",
    ]
    if outcome.init_ms is not None:
        parts.append(f"Init Duration: {outcome.init_ms:.2f} ms")
    if outcome.timed_out:
        parts.append("Status: timeout")
    return "\t".join(parts) + "\t"


def error_payload(error_type: str, message: str) -> bytes:
    """Lambda's error shape for failures of the environment rather than the handler."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def timeout_message(request_id: str, timeout: float) -> str:
    return f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"


def timeout_line(request_id: str, timeout: float) -> str:
    """What Lambda logs when it stops a function at its timeout."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{now} {request_id} Task timed out after {timeout:.2f} seconds"


def describe_error(outcome: Outcome) -> str:
    """A failed invocation's error as people read it: "ValueError: boom"."""
    try:
        error = json.loads(outcome.payload)
    except ValueError:
        return outcome.payload.decode("utf-8", "replace")
    if not isinstance(error, dict):
        return outcome.payload.decode("utf-8", "replace")
    return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
