"""Invoke latency of laambda's local runtime (issue 13): cold and warm, Python and Node.js.

    .venv/bin/python bench/bench_invoke.py [--runs 20]

For a trivial handler, prints the median and p90 of:
- warm: an invocation of a kept environment, total time and platform overhead (total minus
  the handler's own duration, as REPORT gives it); goal: overhead under 20 ms;
- cold: a new environment (process start, runtime client start, import, one event), total
  and the part Lambda reports as Init Duration; goal: under 300 ms on top of the handler's
  import (here the import is of a few-line module: the whole cold time is overhead);
- through the local cloud: boto3 Invoke to moto's server in this process (what `laambda
  invoke` and every event source use), warm, total.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from laambda.local import moto_lambda
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction, Outcome

CODE = {
    "python3.12": ("main.handler", "main.py", "def handler(event, context):\n    return event\n"),
    "nodejs20.x": ("index.handler", "index.js", "exports.handler = async (e) => e;\n"),
}


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def _function(runtime: str, tag: str) -> LocalFunction:
    handler, name, text = CODE[runtime]
    data = _zip(name, text)
    return LocalFunction(
        name=f"bench-{runtime.replace('.', '')}-{tag}",
        version="$LATEST",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:bench-{tag}",
        handler=handler,
        runtime=runtime,
        timeout=10.0,
        memory_mb=128,
        region="us-east-1",
        code_sha256=hashlib.sha256(data).hexdigest(),
        code=lambda: data,
    )


def _timed(call: Callable[[], Outcome]) -> tuple[float, Outcome]:
    started = time.perf_counter()
    outcome = call()
    return (time.perf_counter() - started) * 1000, outcome


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):7.2f} ms   p90 {p90:7.2f} ms"


def runtime_numbers(runtime: str, runs: int, cache: Path) -> None:
    local = LocalRuntime(cache)
    try:
        local.invoke(_function(runtime, "prime"), b"{}")  # unpack, install the client once
        cold, init = [], []
        for index in range(runs):
            fresh = _function(runtime, f"c{index}")  # a new key: a new environment
            spent, outcome = _timed(partial(local.invoke, fresh, b"{}"))
            cold.append(spent)
            init.append(outcome.init_ms or 0.0)
        warm_function = _function(runtime, "warm")
        local.invoke(warm_function, b"{}")
        warm, overhead = [], []
        for _ in range(runs):
            spent, outcome = _timed(partial(local.invoke, warm_function, b'{"n": 1}'))
            warm.append(spent)
            overhead.append(spent - outcome.duration_ms)
    finally:
        local.close()
    print(f"{runtime:11} cold total     {_stats(cold)}")
    print(f"{runtime:11} cold init      {_stats(init)}")
    print(f"{runtime:11} warm total     {_stats(warm)}")
    print(f"{runtime:11} warm overhead  {_stats(overhead)}")


def cloud_numbers(runs: int, cache: Path) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    moto_lambda.install(cache)
    try:
        client = boto3.client("lambda", endpoint_url=url, region_name="us-east-1")
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        handler, name, text = CODE["python3.12"]
        client.create_function(
            FunctionName="bench",
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": _zip(name, text)},
        )
        client.invoke(FunctionName="bench", Payload=b"{}")
        totals = []
        for _ in range(runs):
            started = time.perf_counter()
            client.invoke(FunctionName="bench", Payload=b'{"n": 1}')["Payload"].read()
            totals.append((time.perf_counter() - started) * 1000)
    finally:
        moto_lambda.uninstall()
        server.stop()
    print(f"{'local cloud':11} warm total     {_stats(totals)}  (boto3 -> moto -> runtime)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        cache = Path(work)
        for runtime in CODE:
            runtime_numbers(runtime, args.runs, cache)
        cloud_numbers(args.runs, cache)


if __name__ == "__main__":
    main()
