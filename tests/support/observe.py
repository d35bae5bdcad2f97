"""CloudWatch data as Lambda writes it, in moto: log lines per function and stream, metric
data points of AWS/Lambda."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from laambda.config import Settings
from laambda.deploy import aws


def write(logs: Any, function: str, stream: str, lines: list[tuple[int, str]]) -> None:
    """Lines as Lambda writes them: one log group per function, streams per instance."""
    group = f"/aws/lambda/{function}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": message} for t, message in lines],
    )


def put(settings: Settings, function: str, metric: str, values: list[float], ago: float) -> None:
    """Data points as Lambda publishes them, `ago` minutes back."""
    aws.client("cloudwatch", settings).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(minutes=ago),
            }
            for value in values
        ],
    )
