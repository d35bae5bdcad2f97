"""Make moto's Lambda run functions with laambda's local runtime instead of Docker.

moto's server runs in the process that starts it (`laambda up`'s local cloud, the tests), so
replacing its Invoke there makes every caller — boto3 over HTTP, moto's own event sources —
run the function's published code on this machine: the answer or Lambda's error shape, with
X-Amz-Function-Error, X-Amz-Executed-Version and X-Amz-Log-Result as Lambda sets them, and
the logs and metrics Lambda records written into the local cloud's CloudWatch.

`install(cache, endpoint=…)` turns it on (functions then reach the local cloud at `endpoint`
with throwaway credentials); `uninstall()` gives moto its own Invoke back.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.exceptions import JsonRESTError

from laambda.local import records
from laambda.local.runtime.interpreters import RuntimeUnavailable
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction, Outcome, error_payload

LOG_TAIL = 4096  # bytes of log Lambda returns with LogType=Tail
_ORIGINAL = (LambdaBackend.invoke, LambdaFunction.invoke)
_state: dict[str, Any] = {}


class _Throttled(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


def install(cache: Path, *, endpoint: str | None = None) -> LocalRuntime:
    """Run invoked functions locally from now on; returns the runtime (close it on exit)."""
    uninstall()
    runtime = LocalRuntime(cache)
    _state.update(runtime=runtime, endpoint=endpoint)
    LambdaBackend.invoke = _backend_invoke  # type: ignore[method-assign]
    LambdaFunction.invoke = _function_invoke  # type: ignore[method-assign]
    return runtime


def uninstall() -> None:
    """moto's own Invoke again; the runtime's processes are stopped."""
    runtime = _state.pop("runtime", None)
    if runtime is not None:
        runtime.close()
    LambdaBackend.invoke, LambdaFunction.invoke = _ORIGINAL  # type: ignore[method-assign]


def _backend_invoke(
    self: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    fn = self.get_function(function_name, qualifier)
    payload = _run(fn, qualifier, body, headers, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Invocations moto makes itself (InvokeAsync, its event source mappings)."""
    return _run(self, None, body, request_headers, response_headers)


def spec_of(fn: Any, endpoint: str | None) -> LocalFunction:
    """A moto function version as the runtime's LocalFunction."""
    platform = {}
    if endpoint:
        platform = {
            "AWS_ACCESS_KEY_ID": "laambda-local",
            "AWS_SECRET_ACCESS_KEY": "laambda-local",
            "AWS_SESSION_TOKEN": "laambda-local",
            "AWS_ENDPOINT_URL": endpoint,
        }
    return LocalFunction(
        name=fn.function_name,
        version=str(fn.version),
        arn=fn.function_arn,
        handler=fn.handler or "",
        runtime=fn.run_time or "",
        timeout=float(fn.timeout),
        memory_mb=int(fn.memory_size),
        region=fn.region,
        code_sha256=fn.code_digest,
        code=lambda: bytes(fn.code_bytes),
        environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        platform_environment=platform,
    )


def _run(fn: Any, qualifier: str | None, body: Any, headers: Any, response: Any) -> bytes:
    invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    runtime: LocalRuntime = _state["runtime"]
    spec = spec_of(fn, _state.get("endpoint"))
    cloudwatch = cloudwatch_backends[fn.account_id][fn.region]
    if fn.reserved_concurrency is not None and runtime.busy(spec) >= int(fn.reserved_concurrency):
        records.put_metrics(cloudwatch, spec.name, qualifier, spec.version, outcome=None)
        raise _Throttled()
    payload = body if isinstance(body, bytes) else (body or "{}").encode()
    if invocation_type == "Event":  # Lambda queues it and answers 202 at once
        threading.Thread(
            target=_invoke, args=(runtime, fn, spec, qualifier, payload), daemon=True
        ).start()
        return b""
    outcome, lines = _invoke(runtime, fn, spec, qualifier, payload)
    response["x-amz-executed-version"] = spec.version
    if outcome.function_error:
        response["x-amz-function-error"] = outcome.function_error
    tail = "\n".join(lines).encode()[-LOG_TAIL:]
    response["x-amz-log-result"] = base64.b64encode(tail).decode()
    return outcome.payload


def _invoke(
    runtime: LocalRuntime, fn: Any, spec: LocalFunction, qualifier: str | None, payload: bytes
) -> tuple[Outcome, list[str]]:
    try:
        outcome = runtime.invoke(spec, payload)
    except RuntimeUnavailable as exc:
        outcome = Outcome(
            request_id="",
            payload=error_payload("Runtime.Unavailable", exc.message),
            function_error="Unhandled",
            lines=[exc.message],
            duration_ms=0.0,
            init_ms=None,
            max_memory_mb=0,
            log_stream="laambda/runtime-unavailable",
        )
    lines = records.write_log(fn.logs_backend, spec, outcome)
    cloudwatch = cloudwatch_backends[fn.account_id][fn.region]
    records.put_metrics(cloudwatch, spec.name, qualifier, spec.version, outcome=outcome)
    return outcome, lines
