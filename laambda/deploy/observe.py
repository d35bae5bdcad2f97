"""What functions did and do: invoke `live`, read CloudWatch Logs, read CloudWatch metrics.

AWS's refusals become AwsRefused with AWS's words; a function that never logged (no log
group yet) or has no data points is not an error, it has no lines and no numbers.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from laambda.deploy import aws
from laambda.deploy.aliases import ALIAS
from laambda.deploy.calls import error_code, error_message, is_missing
from laambda.errors import AwsRefused, FunctionNotFound

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

    from laambda.config import Settings

MAX_PAGES = 50  # per log group and request: a slow search ends the page, the cursor goes on
# (query id prefix, metric, statistic); the average is Sum / SampleCount, exact over periods
_QUERIES = (
    ("invocations", "Invocations", "Sum"),
    ("errors", "Errors", "Sum"),
    ("throttles", "Throttles", "Sum"),
    ("duration", "Duration", "Sum"),
    ("n", "Duration", "SampleCount"),
)
_QUERIES_PER_CALL = 500  # GetMetricData's limit
_CALLER_ERRORS = frozenset(
    {
        "InvalidParameterException",
        "InvalidParameterValueException",
        "InvalidRequestContentException",
        "RequestTooLargeException",
        "InvalidParameterCombination",
    }
)


@dataclass(frozen=True)
class Invocation:
    status_code: int
    payload: bytes
    function_error: str | None
    executed_version: str | None
    log_tail: str | None


@dataclass(frozen=True)
class Metrics:
    """Totals over a window; None where CloudWatch has no data point."""

    invocations: float = 0
    errors: float = 0
    throttles: float = 0
    duration_avg_ms: float | None = None
    duration_p99_ms: float | None = None


def for_region(settings: Settings, region: str) -> Observer:
    return Observer(
        invoke_client(aws.lambda_client(settings, region)),
        aws.client("logs", settings, region),
        aws.client("cloudwatch", settings, region),
    )


def invoker(settings: Settings, region: str, *, read_timeout: int) -> Observer:
    """An Observer that only invokes, waiting up to `read_timeout` seconds for an answer."""
    client = aws.lambda_client(settings, region, read_timeout=read_timeout)
    return Observer(invoke_client(client), logs=None, cloudwatch=None)


def invoke_client(client: LambdaClient) -> LambdaClient:
    """Invoke is not idempotent: botocore would run the function again after a read timeout
    or a 5xx, so this client (used for invoke only) makes one attempt."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.unregister(f"needs-retry.{service}", unique_id=f"retry-config-{service}")
    return client


class Observer:
    def __init__(self, client: LambdaClient, logs: Any, cloudwatch: Any) -> None:
        self.client = client
        self.logs = logs
        self.cloudwatch = cloudwatch

    def invoke(
        self, function_name: str, payload: bytes, *, tail: bool, qualifier: str = ALIAS
    ) -> Invocation:
        """Call `live` (or another version or alias) and wait for the result; the function's
        own error is a result too."""
        try:
            answer = self.client.invoke(
                FunctionName=function_name,
                Qualifier=qualifier,
                InvocationType="RequestResponse",
                LogType="Tail" if tail else "None",
                Payload=payload,
            )
        except ClientError as exc:
            if is_missing(exc):
                raise FunctionNotFound(
                    f"{function_name} has no live release in AWS yet ({error_message(exc)})"
                ) from None
            raise _refused(f"invoking {function_name}", exc) from None
        except BotoCoreError as exc:  # no answer: a timeout or the network
            raise AwsRefused(
                f"invoking {function_name}: no answer from AWS ({exc}); it may still be running: "
                "see its logs",
                504,
            ) from None
        log = answer.get("LogResult")
        return Invocation(
            status_code=answer["StatusCode"],
            payload=answer["Payload"].read(),
            function_error=answer.get("FunctionError"),
            executed_version=answer.get("ExecutedVersion"),
            log_tail=base64.b64decode(log).decode("utf-8", "replace") if log else None,
        )

    def log_events(
        self,
        function_name: str,
        *,
        start_ms: int,
        want: int,
        skip: Callable[[dict[str, Any]], bool],
    ) -> tuple[list[dict[str, Any]], bool]:
        """The function's oldest events from `start_ms` on that `skip` does not drop (at least
        `want` of them when there are), and whether the log group holds more after them."""
        found: list[dict[str, Any]] = []
        more = False  # stays so for a group that does not exist (never invoked)
        for page, has_more in self._pages(f"/aws/lambda/{function_name}", start_ms):
            found.extend(event for event in page if not skip(event))
            more = has_more  # after MAX_PAGES pages, too: the group goes on
            if len(found) >= want:
                break
        return found, more

    def _pages(self, group: str, start_ms: int) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        token: str | None = None
        for _ in range(MAX_PAGES):
            try:
                page = self.logs.filter_log_events(
                    logGroupName=group,
                    startTime=start_ms,
                    # ignored by AWS (always interleaved); asks moto to sort across streams too
                    interleaved=True,
                    **({"nextToken": token} if token else {}),
                )
            except ClientError as exc:
                if is_missing(exc):  # never invoked: no log group yet
                    return
                raise _refused(f"reading {group}", exc) from None
            except BotoCoreError as exc:
                raise AwsRefused(f"reading {group}: no answer from AWS ({exc})") from None
            token = page.get("nextToken")
            yield list(page.get("events", [])), token is not None
            if not token:
                return

    def metrics(
        self, functions: list[str], *, start: datetime, end: datetime
    ) -> dict[str, Metrics]:
        """Invocations, errors, throttles (sums), duration average and p99 per function."""
        period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
        queries = [
            _query(f"{prefix}_{index}", function_name, metric, stat, period)
            for index, function_name in enumerate(functions)
            for prefix, metric, stat in _QUERIES
        ]
        values: dict[str, float] = {}
        try:
            for at in range(0, len(queries), _QUERIES_PER_CALL):
                chunk = queries[at : at + _QUERIES_PER_CALL]
                values.update(self._metric_data(chunk, start, end))
            result = {}
            for index, function_name in enumerate(functions):
                count = values.get(f"n_{index}", 0.0)
                result[function_name] = Metrics(
                    invocations=values.get(f"invocations_{index}", 0.0),
                    errors=values.get(f"errors_{index}", 0.0),
                    throttles=values.get(f"throttles_{index}", 0.0),
                    duration_avg_ms=values.get(f"duration_{index}", 0.0) / count if count else None,
                    duration_p99_ms=self._p99(function_name, start, end, period) if count else None,
                )
        except ClientError as exc:
            raise _refused("reading metrics", exc) from None
        except BotoCoreError as exc:
            raise AwsRefused(f"reading metrics: no answer from AWS ({exc})") from None
        return result

    def _metric_data(
        self, queries: list[dict[str, Any]], start: datetime, end: datetime
    ) -> dict[str, float]:
        """Each query's values summed over the window's periods (one or two periods)."""
        totals: dict[str, float] = {}
        token: str | None = None
        while True:
            page = self.cloudwatch.get_metric_data(
                MetricDataQueries=queries,
                StartTime=start,
                EndTime=end,
                **({"NextToken": token} if token else {}),
            )
            for result in page.get("MetricDataResults", []):
                if result.get("Values"):
                    totals[result["Id"]] = totals.get(result["Id"], 0.0) + sum(result["Values"])
            token = page.get("NextToken")
            if not token:
                return totals

    def canary_problems(
        self, function_name: str, version: str, *, start: datetime, end: datetime
    ) -> tuple[int, int]:
        """(Errors, Throttles) of invocations of `live` that ran `version`, from `start` to
        `end`: the data points Lambda publishes with dimensions FunctionName, Resource
        "<function>:live" and ExecutedVersion ("Types of metrics for Lambda functions")."""
        dimensions = [
            {"Name": "FunctionName", "Value": function_name},
            {"Name": "Resource", "Value": f"{function_name}:{ALIAS}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        sums = []
        for metric in ("Errors", "Throttles"):
            try:
                answer = self.cloudwatch.get_metric_statistics(
                    Namespace="AWS/Lambda",
                    MetricName=metric,
                    Dimensions=dimensions,
                    StartTime=start,
                    EndTime=end,
                    Period=60,
                    Statistics=["Sum"],
                )
            except ClientError as exc:
                raise _refused("reading metrics", exc) from None
            except BotoCoreError as exc:
                raise AwsRefused(f"reading metrics: no answer from AWS ({exc})") from None
            sums.append(round(sum(p.get("Sum", 0.0) for p in answer.get("Datapoints", []))))
        return sums[0], sums[1]

    def _p99(self, function_name: str, start: datetime, end: datetime, period: int) -> float | None:
        """Percentiles do not add up across periods: the highest period's p99, an upper bound
        (the window is usually one period)."""
        answer = self.cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Duration",
            Dimensions=[{"Name": "FunctionName", "Value": function_name}],
            StartTime=start,
            EndTime=end,
            Period=period,
            ExtendedStatistics=["p99"],
        )
        p99s = [
            float(point["ExtendedStatistics"]["p99"])
            for point in answer.get("Datapoints", [])
            if "p99" in (point.get("ExtendedStatistics") or {})
        ]
        return max(p99s) if p99s else None


def _query(
    query_id: str, function_name: str, metric: str, stat: str, period: int
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": function_name}],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _refused(what: str, exc: ClientError) -> AwsRefused:
    status = 422 if error_code(exc) in _CALLER_ERRORS else 502
    return AwsRefused(f"{what}: AWS refused: {error_message(exc)}", status)
