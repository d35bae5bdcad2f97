"""`laambda invoke`, `logs` and `metrics` on functions that really run: through the CLI, the
API and boto3 to moto's server, whose Invoke runs the published code with the local runtime."""

from __future__ import annotations

import json
import time

from laambda.deploy import aws
from tests.support.cli import Cli
from tests.support.local import LiveApp


def test_python_answer_error_timeout_logs_and_metrics(cli: Cli, python_app: LiveApp) -> None:
    app = python_app.name
    done = cli("invoke", "hello", "--data", '{"who": "ada"}', "-a", app)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["event"] == {"who": "ada"}
    assert answer["function"] == f"{app}-hello"
    assert answer["memory"] == "256"
    assert 0 < answer["left_ms"] <= 10_000
    assert (answer["greeting"], answer["handler"]) == ("hej", "main.hello")
    assert answer["region"] == "us-east-1"
    again = cli("invoke", "hello", "--data", '{"who": "bob"}', "-a", app)
    assert json.loads(again.stdout)["event"] == {"who": "bob"}

    failed = cli("invoke", "boom", "--data", '{"why": "testing"}', "-a", app)
    assert failed.returncode == 1
    assert failed.stderr.startswith("laambda: boom failed (Unhandled): ")
    error = json.loads(failed.stderr.split(": ", 2)[2])
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom: testing"
    assert any('raise ValueError("boom: "' in frame for frame in error["stackTrace"])

    started = time.monotonic()
    stopped = cli("invoke", "slow", "-a", app)
    assert time.monotonic() - started < 10
    assert stopped.returncode == 1
    assert "Task timed out after 1.00 seconds" in stopped.stderr
    assert "Sandbox.Timedout" in stopped.stderr

    logs = cli("logs", "--since", "5m", "-a", app)
    assert logs.returncode == 0, logs.stderr
    hello = [line for line in logs.stdout.splitlines() if "app[hello]" in line]
    assert sum("hello from the handler {'who': 'ada'}" in line for line in hello) == 1
    assert sum("main imported" in line for line in hello) == 1  # one cold start, then warm
    assert sum("START RequestId:" in line for line in hello) == 2
    reports = [line for line in hello if "REPORT RequestId:" in line]
    assert len(reports) == 2
    assert "Memory Size: 256 MB" in reports[0]
    assert "Init Duration:" in reports[0]
    assert "Init Duration:" not in reports[1]
    slow = [line for line in logs.stdout.splitlines() if "app[slow]" in line]
    assert any("Task timed out after 1.00 seconds" in line for line in slow)
    assert any("[ERROR] ValueError: boom: testing" in line for line in logs.stdout.splitlines())

    deadline = time.monotonic() + 10  # CloudWatch (moto: to the whole second) lags a little
    while True:
        metrics = json.loads(cli("metrics", "-a", app, "--json").stdout)
        rows = {row["name"]: row for row in metrics["functions"]}
        if rows["slow"]["invocations"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (rows["hello"]["invocations"], rows["hello"]["errors"]) == (2, 0)
    assert (rows["boom"]["invocations"], rows["boom"]["errors"]) == (1, 1)
    assert (rows["slow"]["invocations"], rows["slow"]["errors"]) == (1, 1)
    assert rows["slow"]["duration_avg_ms"] >= 1000


def test_node_answer_and_error(cli: Cli, node_app: LiveApp) -> None:
    app = node_app.name
    done = cli("invoke", "hi", "--data", '{"n": 1}', "-a", app, "--log")
    assert done.returncode == 0, done.stderr
    assert "hi from node" in done.stdout
    assert "REPORT RequestId:" in done.stdout
    answer = json.loads(done.stdout[done.stdout.index("{\n") :])
    assert answer["node"].startswith("v20.")
    assert (answer["event"], answer["function"]) == ({"n": 1}, f"{app}-hi")

    failed = cli("invoke", "hi", "--data", '{"fail": true}', "-a", app)
    assert failed.returncode == 1
    error = json.loads(failed.stderr.split(": ", 2)[2])
    assert (error["errorType"], error["errorMessage"]) == ("TypeError", "node says no")
    assert error["trace"][0] == "TypeError: node says no"


def test_a_throttled_invocation_is_counted(cli: Cli, python_app: LiveApp) -> None:
    client = aws.lambda_client(cli.settings)
    name = f"{python_app.name}-hello"
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    refused = cli("invoke", "hello", "-a", python_app.name)  # one attempt, as laambda makes
    assert refused.returncode == 1
    assert "Rate Exceeded" in refused.stderr
    time.sleep(1.1)  # moto's metrics window ends at the whole second
    metrics = json.loads(cli("metrics", "-a", python_app.name, "--json").stdout)
    rows = {row["name"]: row for row in metrics["functions"]}
    assert (rows["hello"]["throttles"], rows["hello"]["invocations"]) == (1, 0)
