"""Make moto's Lambda run functions with laambda's local runtime instead of Docker.

moto's server runs in the process that starts it (`laambda up`'s local cloud, the tests), so
replacing its Invoke there makes every caller — boto3 over HTTP, moto's own event sources —
run the function's published code on this machine: the answer or Lambda's error shape, with
X-Amz-Function-Error, X-Amz-Executed-Version and X-Amz-Log-Result as Lambda sets them, and
the logs and metrics Lambda records written into the local cloud's CloudWatch.

Function URLs get a local address (`http://127.0.0.1:<port>/<url-id>/`) served by
laambda.local.function_urls, which invokes the qualifier the URL was created for.

`install(cache)` turns it on; `uninstall()` gives moto its own Invoke and URLs back. Functions
get no AWS API: the local cloud's moto accepts any signature, so a function given its address
could read every app's configuration and sources (on Lambda a function's role decides).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from moto.awslambda.models import (
    FunctionUrlConfig,
    LambdaAlias,
    LambdaBackend,
    LambdaFunction,
    lambda_backends,
)
from moto.awslambda.responses import LambdaResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.exceptions import JsonRESTError

from laambda.local import records
from laambda.local.function_urls import UrlServer
from laambda.local.runtime.interpreters import RuntimeUnavailable
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction, Outcome, error_payload

LOG_TAIL = 4096  # bytes of log Lambda returns with LogType=Tail
_ORIGINAL = (
    LambdaBackend.invoke,
    LambdaFunction.invoke,
    FunctionUrlConfig.__init__,
    LambdaResponse.create_function_url_config,
    LambdaResponse.invoke,
    LambdaAlias.update,
    LambdaAlias.__init__,
)
_state: dict[str, Any] = {}
_urls: dict[str, Any] = {}  # url id -> moto's FunctionUrlConfig
_spread: dict[tuple[str, str, float], int] = {}  # (alias's version, canary, weight) -> count
_spread_lock = threading.Lock()


class _Throttled(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


def install(
    cache: Path,
    *,
    url_host: str = "127.0.0.1",
    url_port: int = 0,
    region: str = "us-east-1",
) -> LocalRuntime:
    """Run invoked functions locally from now on and serve function URLs on url_host:url_port
    (0: any free port; `url_base()` tells which); returns the runtime. Functions see only their
    code and runtime when they can be sandboxed (runtime/sandbox.py).

    Raises OSError when the port is taken."""
    uninstall()
    urls = UrlServer(_url_invoke, host=url_host, port=url_port, region=region)
    runtime = LocalRuntime(cache)
    _state.update(runtime=runtime, urls=urls)
    LambdaBackend.invoke = _backend_invoke  # type: ignore[method-assign]
    LambdaFunction.invoke = _function_invoke  # type: ignore[method-assign]
    FunctionUrlConfig.__init__ = _url_config_init  # type: ignore[method-assign]
    LambdaResponse.create_function_url_config = _create_url_config  # type: ignore[method-assign]
    LambdaResponse.invoke = _response_invoke  # type: ignore[method-assign]
    LambdaAlias.update = _alias_update  # type: ignore[method-assign]
    LambdaAlias.__init__ = _alias_init  # type: ignore[method-assign]
    return runtime


def uninstall() -> None:
    """moto's own Invoke again; the runtime's processes and the URL server are stopped."""
    runtime = _state.pop("runtime", None)
    if runtime is not None:
        runtime.close()
    urls = _state.pop("urls", None)
    if urls is not None:
        urls.close()
    (
        LambdaBackend.invoke,  # type: ignore[method-assign]
        LambdaFunction.invoke,  # type: ignore[method-assign]
        FunctionUrlConfig.__init__,  # type: ignore[method-assign]
        LambdaResponse.create_function_url_config,  # type: ignore[method-assign]
        LambdaResponse.invoke,  # type: ignore[method-assign]
        LambdaAlias.update,  # type: ignore[method-assign]
        LambdaAlias.__init__,  # type: ignore[method-assign]
    ) = _ORIGINAL


def url_base() -> str | None:
    """Where function URLs are served ("http://127.0.0.1:5050"), None when not installed."""
    urls = _state.get("urls")
    return urls.base if urls is not None else None


def _url_config_init(self: Any, function: Any, config: dict[str, Any]) -> None:
    _ORIGINAL[2](self, function, config)
    # the same function gets the same URL after a restart of the local cloud
    url_id = hashlib.sha256(function.function_arn.encode()).hexdigest()[:32]
    self.url = f"{url_base()}/{url_id}/"
    self.qualifier = None
    _urls[url_id] = self


def _create_url_config(self: Any) -> Any:
    """moto ignores the Qualifier of a URL; it is kept to invoke what the URL points at."""
    answer = _ORIGINAL[3](self)
    name = unquote(self.path.split("/")[-2])
    config = self.backend.get_function_url_config(name)
    config.qualifier = self._get_param("Qualifier")
    return answer


def _url_invoke(url_id: str, event: bytes) -> tuple[bytes, str | None] | None:
    config = _urls.get(url_id)
    if config is None or config.function.url_config is not config:  # deleted since
        return None
    latest = config.function
    backend = lambda_backends[latest.account_id][latest.region]
    qualifier = getattr(config, "qualifier", None)
    fn = _routed(backend, latest.function_name, qualifier)
    runtime: LocalRuntime = _state["runtime"]
    outcome, _ = _invoke(runtime, fn, spec_of(fn), qualifier, event)
    return outcome.payload, outcome.function_error


def _response_invoke(self: Any) -> Any:
    """moto's Invoke reads the qualifier as `qualifier`, but the API (and boto3) sends it as
    the `Qualifier` query parameter ("Invoke", AWS Lambda API Reference): without this every
    invocation of an alias ran $LATEST."""
    named = self.querystring.get("Qualifier")
    if named and "qualifier" not in self.querystring:
        self.querystring["qualifier"] = named
    return _ORIGINAL[4](self)


def _backend_invoke(
    self: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    if qualifier is None and ":function:" in function_name:  # moto's SQS mappings name an ARN
        _, _, qualifier = self._lambdas.split_function_arn(function_name)
    fn = _routed(self, function_name, qualifier)
    payload = _run(fn, qualifier, body, headers, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _routing(config: Any) -> Any:
    """An empty AdditionalVersionWeights clears the routing, as on Lambda (GetAlias then
    shows no RoutingConfig)."""
    if isinstance(config, dict) and not config.get("AdditionalVersionWeights"):
        return {}
    return config


def _alias_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL[6](self, *args, **kwargs)
    self.routing_config = _routing(self.routing_config)


def _alias_update(self: Any, description: Any, function_version: Any, routing_config: Any) -> None:
    _ORIGINAL[5](self, description, function_version, _routing(routing_config))


def _routed(backend: Any, name: str, qualifier: str | None) -> Any:
    """The version an invocation runs. An alias with AdditionalVersionWeights sends that
    share of invocations to the other version, as Lambda does; the local cloud spreads them
    exactly (with weight 0.1, every tenth invocation) rather than at random, so what a
    number of invocations hits is known."""
    fn = backend.get_function(name, qualifier)
    if not qualifier or qualifier.isdigit() or qualifier == "$LATEST":
        return fn
    alias = backend._lambdas._get_function_aliases(fn.function_name).get(qualifier)
    weights = (getattr(alias, "routing_config", None) or {}).get("AdditionalVersionWeights")
    if not weights:
        return fn
    version, weight = next(iter(weights.items()))
    with _spread_lock:
        key = (fn.function_arn, str(version), float(weight))
        count = _spread.get(key, 0) + 1
        _spread[key] = count
    if int(count * float(weight)) > int((count - 1) * float(weight)):
        return backend.get_function(fn.function_name, str(version))
    return fn


def _function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Invocations moto makes itself (InvokeAsync, its event source mappings)."""
    return _run(self, None, body, request_headers, response_headers)


def spec_of(fn: Any) -> LocalFunction:
    """A moto function version as the runtime's LocalFunction."""
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
    )


def _run(fn: Any, qualifier: str | None, body: Any, headers: Any, response: Any) -> bytes:
    invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    runtime: LocalRuntime = _state["runtime"]
    spec = spec_of(fn)
    cloudwatch = cloudwatch_backends[fn.account_id][fn.region]
    # the function's own setting ($LATEST holds it), whichever version is invoked
    latest = lambda_backends[fn.account_id][fn.region].get_function(fn.function_name)
    reserved = latest.reserved_concurrency
    if reserved is not None and runtime.busy(spec) >= int(reserved):
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
        if getattr(fn, "package_type", "Zip") != "Zip":
            raise RuntimeUnavailable(
                f"{spec.name} is a container image function: the local cloud runs zip "
                "functions only"
            )
        outcome = runtime.invoke(spec, payload)
    except RuntimeUnavailable as exc:
        outcome = Outcome(
            request_id=str(uuid.uuid4()),
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
