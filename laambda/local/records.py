"""What Lambda records for an invocation, written into the local cloud's CloudWatch: the log
lines in the function's log group (one stream per execution environment) and the metrics of
namespace AWS/Lambda.

Metrics as Lambda publishes them ("Types of metrics for Lambda functions", AWS Lambda
Developer Guide): Invocations, Errors, Duration (ms) and Throttles, each with the dimension
sets FunctionName; FunctionName + Resource (the name with the qualifier invoked); and, for an
alias, FunctionName + Resource + ExecutedVersion.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from laambda.local.runtime.spec import LocalFunction, Outcome

NAMESPACE = "AWS/Lambda"
_write = threading.Lock()  # moto's logs backend is not safe for concurrent writers


def write_log(logs: Any, spec: LocalFunction, outcome: Outcome) -> list[str]:
    """Append the invocation's lines (START … REPORT) to /aws/lambda/<name>; returns them."""
    lines = outcome.log_lines(spec)
    group = f"/aws/lambda/{spec.name}"
    now = int(time.time() * 1000)
    with _write:
        logs.ensure_log_group(group)
        logs.ensure_log_stream(group, outcome.log_stream)
        logs.put_log_events(
            group, outcome.log_stream, [{"timestamp": now, "message": line} for line in lines]
        )
    return lines


def dimension_sets(name: str, qualifier: str | None, version: str) -> list[list[dict[str, str]]]:
    """The dimension sets Lambda publishes each data point under."""
    function = [{"Name": "FunctionName", "Value": name}]
    invoked = f"{name}:{qualifier}" if qualifier else name
    resource = [*function, {"Name": "Resource", "Value": invoked}]
    sets = [function, resource]
    if qualifier and not qualifier.isdigit() and qualifier != "$LATEST":  # an alias
        sets.append([*resource, {"Name": "ExecutedVersion", "Value": version}])
    return sets


def put_metrics(
    cloudwatch: Any,
    name: str,
    qualifier: str | None,
    version: str,
    *,
    outcome: Outcome | None,
) -> None:
    """One invocation's data points; `outcome` None records a throttle (no invocation)."""
    if outcome is None:
        values = [("Throttles", 1.0, "Count")]
    else:
        values = [
            ("Invocations", 1.0, "Count"),
            ("Errors", 1.0 if outcome.function_error else 0.0, "Count"),
            ("Duration", outcome.duration_ms, "Milliseconds"),
        ]
    cloudwatch.put_metric_data(
        NAMESPACE,
        [
            {"MetricName": metric, "Value": value, "Unit": unit, "Dimensions": dimensions}
            for dimensions in dimension_sets(name, qualifier, version)
            for metric, value, unit in values
        ],
    )
