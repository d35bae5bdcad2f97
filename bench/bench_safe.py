"""What a release phase and a smoke check add to a release (issue 16).

    .venv/bin/python bench/bench_safe.py [--runs 10]

moto's server runs in this process with laambda's local runtime, so functions really run
(as on `laambda up`). Each run deploys new code (a new artifact, so new versions) of a
one-function app three ways with the deploy engine alone (no database, no worker):
plain; with a `release` entry run before `live` moves; with a smoke check of the function.
Prints the median and p90 of each, and the difference to plain. The new version's first
invocation is a cold start (a new process for the new code), as it is on Lambda.
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
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.gate import Gate, SmokeCheck
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.deploy.observe import invoker
from laambda.domain.function import RELEASE_ENTRY
from laambda.local import moto_lambda
from laambda.objectstore import ObjectStore

CODE = """\
def handler(event, context):
    return {"statusCode": 200, "body": "ok"}


def release(event, context):
    print("migrating")
    return {"ok": True}
"""


def artifact(directory: Path, seed: int) -> tuple[Path, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", CODE + f"# {seed}\n")
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    path = directory / f"{sha256}.zip"
    path.write_bytes(data)
    return path, sha256


def spec(name: str, handler: str, role: str) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        handler=handler,
        runtime="python3.12",
        architecture="x86_64",
        role=role,
        memory=256,
        timeout=10,
        environment={},
    )


def _stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    settings = Settings(
        aws_endpoint_url=url,
        artifact_bucket="bench-safe",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
    )
    with tempfile.TemporaryDirectory() as work:
        moto_lambda.install(Path(work) / "runtime")
        try:
            times = run(settings, Path(work), args.runs)
        finally:
            moto_lambda.uninstall()
            server.stop()
    plain, _ = _stats(times["plain"])
    print(f"{'release':28} median ms   p90 ms   added (median)")
    for name, values in times.items():
        median, p90 = _stats(values)
        print(f"{name:28} {median:9.1f} {p90:8.1f} {median - plain:+10.1f}")


def run(settings: Settings, work: Path, runs: int) -> dict[str, list[float]]:
    iam = boto3.client("iam", endpoint_url=settings.aws_endpoint_url, region_name="us-east-1")
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    deployer = Deployer(aws.lambda_client(settings), store, concurrency=8, log=lambda _: None)
    observer = invoker(settings, "us-east-1", read_timeout=60)
    web = spec("web", "main.handler", role)
    phase = spec(RELEASE_ENTRY, "main.release", role)
    ways: dict[str, tuple[str, list[FunctionSpec], Callable[[str], Gate | None]]] = {
        "plain": ("plain", [web], lambda _: None),
        "with a release phase": (
            "phased",
            [web, phase],
            lambda app: Gate(
                observer,
                log=lambda _: None,
                redact=str,
                release_function=f"{app}-release",
                checks=[],
            ),
        ),
        "with a smoke check": (
            "checked",
            [web],
            lambda app: Gate(
                observer,
                log=lambda _: None,
                redact=str,
                release_function=None,
                checks=[SmokeCheck(f"{app}-web", b"{}", 200)],
            ),
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for seed in range(runs + 1):  # the first run creates the functions: not counted
        for name, (app, specs, gate) in ways.items():
            path, sha256 = artifact(work, seed)
            started = time.perf_counter()
            deployer.deploy(
                app,
                specs,
                artifact=path,
                sha256=sha256,
                description=f"v{seed}",
                hold=(RELEASE_ENTRY,) if len(specs) > 1 else (),
                before_live=gate(app),
            )
            if seed:
                times[name].append((time.perf_counter() - started) * 1000)
    return times


if __name__ == "__main__":
    main()
