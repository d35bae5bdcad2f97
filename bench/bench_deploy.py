"""Deploy benchmark against moto's server (issue 4): parallel deploys, rollback, redeploy.

    .venv/bin/python bench/bench_deploy.py [--runs 5] [--latency-ms 0] [--quota]

moto's server runs in a process of its own, as AWS would be. Prints, for one run:
(a) deploy of a 50-entry app vs a 1-entry app (goal: 50 within 1.5x of 1),
(b) rollback of the 50-function app (goal: under 1 s),
(c) the same artifact deployed again (goal: 0 bytes uploaded, 0 code updates),
(d) rollback of the 50-function app after every function was deleted and made again, so
    that each recorded version number holds other code: the check of each version's
    CodeSha256 and configuration sends every function to be deployed again.

(e) a code change of the 50 functions, after (d) (a new artifact, the same configuration:
    UpdateFunctionCode with Publish and UpdateAlias each).

With --quota, Lambda's control-plane quota stands in front of moto (laambda/local/quota.py:
15 requests a second shared by every Lambda call but GetFunction, 100 for GetFunction;
excess answered with TooManyRequestsException), and each step is shown against its floor:
the quota-limited calls it made / 15 a second.

moto answers a call in a millisecond or two and applies updates at once, where Lambda
takes tens of milliseconds per call and seconds per update; --latency-ms adds a delay
before every Lambda call to show the shape of the numbers under AWS-like latency.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("LAAMBDA_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value

from laambda.config import Settings  # noqa: E402
from laambda.deploy import aws  # noqa: E402
from laambda.deploy.calls import RateLimiter  # noqa: E402
from laambda.deploy.lambda_ import Deployer, DeployOutcome, FunctionSpec  # noqa: E402
from laambda.local.quota import RATE, QuotaProxy, phases  # noqa: E402
from laambda.objectstore import ObjectStore  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/lambda-basic"


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)  # noqa: S310
            return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto_server did not start")


def artifact(directory: Path, seed: int, size: int = 2_000_000) -> tuple[Path, str]:
    """A zip of about `size` bytes (a handler and incompressible data), unique per seed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", "def handler(event, context):\n    return 'ok'\n")
        archive.writestr("data.bin", random.Random(seed).randbytes(size))
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    path = directory / f"{sha256}.zip"
    path.write_bytes(data)
    return path, sha256


def specs(count: int, **environment: str) -> list[FunctionSpec]:
    return [
        FunctionSpec(
            name=f"fn{i}",
            handler="main.handler",
            runtime="python3.12",
            architecture="x86_64",
            role=ROLE,
            memory=1024,
            timeout=10,
            environment={"BUCKET": "photos", **environment},
        )
        for i in range(count)
    ]


class Clock:
    """Seconds and Lambda API calls of one step, gathered over the runs."""

    def __init__(self, proxy: QuotaProxy | None = None) -> None:
        self.proxy = proxy
        self.seconds: dict[str, list[float]] = {}
        self.calls: dict[str, int] = {}
        self.limited: dict[str, int] = {}  # calls counted against the quota (with --quota)
        self.throttled = 0
        # with --quota: per step, per run, where its time went (quota.phases)
        self.phases: dict[str, list[list[tuple[str, float]]]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def count(self, **_: Any) -> None:
        with self._lock:
            self._count += 1

    def step(self, name: str, work: Callable[[], DeployOutcome]) -> DeployOutcome:
        before = self._count
        if self.proxy is not None:
            self.proxy.reset()
        start, wall = time.perf_counter(), time.time()
        outcome = work()
        self.seconds.setdefault(name, []).append(time.perf_counter() - start)
        self.calls[name] = self._count - before
        if self.proxy is not None:
            self.limited[name] = self.proxy.limited()
            self.throttled += sum(self.proxy.throttled.values())
            found = phases(self.proxy.history(), wall, time.time())
            self.phases.setdefault(name, []).append(found)
        return outcome

    def breakdown(self, name: str) -> str:
        """With the quota: where the step's time went, medians over the runs."""
        runs = self.phases.get(name, [])
        if not runs or not runs[0]:
            return ""
        lines = []
        for i, (label, _) in enumerate(runs[0]):
            values = [run[i][1] for run in runs if len(run) > i]
            value = statistics.median(values)
            shown = f"{value:.0f}" if label == "answered 429" else f"{value * 1000:.0f} ms"
            lines.append(f"      {label:<36} {shown:>9}")
        return "\n" + "\n".join(lines)

    def against_floor(self, name: str) -> str:
        """With the quota: `seconds for N quota-limited calls, floor F s = R x`."""
        if name not in self.limited:
            return ""
        floor = self.limited[name] / RATE
        return (
            f"; quota: {self.limited[name]} limited calls, floor {floor:.2f} s, "
            f"{self.median(name) / floor:.2f}x the floor"
            if floor
            else ""
        )

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=None, help="default: the setting")
    parser.add_argument("--quota", action="store_true", help="Lambda's quota in front of moto")
    args = parser.parse_args()
    server, url = start_moto()
    proxy = QuotaProxy(url).start() if args.quota else None
    try:
        run(proxy.url if proxy else url, args.runs, args.latency_ms / 1000, args.concurrency, proxy)
    finally:
        if proxy is not None:
            proxy.stop()
        server.terminate()
        server.wait()


def run(
    url: str, runs: int, latency: float, concurrency: int | None, proxy: QuotaProxy | None
) -> None:
    settings = Settings(aws_endpoint_url=url, artifact_bucket="laambda-bench")
    if concurrency:
        settings = Settings(
            aws_endpoint_url=url, artifact_bucket="laambda-bench", deploy_concurrency=concurrency
        )
    aws.client("iam", settings).create_role(RoleName="lambda-basic", AssumeRolePolicyDocument="{}")
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    client = aws.lambda_client(settings)
    if latency:

        def delay(**_: Any) -> None:
            time.sleep(latency)

        client.meta.events.register("before-send.lambda.*", delay)
    clock = Clock(proxy)
    client.meta.events.register("before-call.lambda.*", clock.count)
    # as a worker has it: one limiter per process and region (worker/context.py)
    limiter = RateLimiter(settings.lambda_rate, settings.lambda_get_function_rate)
    deployer = Deployer(
        client,
        store,
        concurrency=settings.deploy_concurrency,
        log=lambda _: None,
        limiter=limiter,
    )
    directory = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    for n in range(runs):
        one, fifty = f"one{n}", f"fifty{n}"
        path1, sha1 = artifact(directory, seed=2 * n)
        path50, sha50 = artifact(directory, seed=2 * n + 1)
        clock.step(
            "one",
            partial(
                deployer.deploy,
                one,
                specs(1),
                artifact=path1,
                sha256=sha1,
                description="Deploy",
                previous=(),
            ),
        )
        first = clock.step(
            "fifty",
            partial(
                deployer.deploy,
                fifty,
                specs(50),
                artifact=path50,
                sha256=sha50,
                description="Deploy",
                previous=(),
            ),
        )
        again = clock.step(
            "again",
            partial(
                deployer.deploy,
                fifty,
                specs(50),
                artifact=path50,
                sha256=sha50,
                description="Deploy",
                previous=first.versions,
            ),
        )
        clock.step(
            "config",
            partial(
                deployer.deploy,
                fifty,
                specs(50, DEBUG="1"),
                artifact=None,
                sha256=sha50,
                description="Set DEBUG",
                previous=first.versions,
            ),
        )
        back = clock.step(
            "rollback",
            partial(
                deployer.rollback,
                fifty,
                specs(50),
                targets=first.versions,
                sha256=sha50,
                description="Rollback to v1",
                previous=first.versions,
            ),
        )
        assert back.versions == first.versions
        # every function deleted and made again by a later deploy of other code: the
        # recorded "version 1"s exist again, and none of them holds the first release
        other, other_sha = artifact(directory, seed=1000 + n)
        deployer.remove_functions(first.versions)
        deployer.deploy(
            fifty, specs(50), artifact=other, sha256=other_sha, description="D", previous=()
        )
        recreated = clock.step(
            "recreated",
            partial(
                deployer.rollback,
                fifty,
                specs(50),
                targets=first.versions,
                sha256=sha50,
                description="Rollback to v1",
                previous=first.versions,
            ),
        )
        assert len(recreated.redeployed) == 50
        changed, changed_sha = artifact(directory, seed=2000 + n)
        code = clock.step(
            "code",
            partial(
                deployer.deploy,
                fifty,
                specs(50),
                artifact=changed,
                sha256=changed_sha,
                description="Deploy",
                previous=recreated.versions,
            ),
        )
        assert code.code_updates == 50
    ratio = clock.median("fifty") / clock.median("one")
    quota = f"quota {RATE:.0f}/s in front of moto" if proxy else "no quota"
    print(
        f"moto_server in its own process, {quota}; {runs} runs, medians; "
        f"concurrency {settings.deploy_concurrency}; "
        f"added latency per Lambda call {latency * 1000:.0f} ms"
    )
    print(
        f"(a) deploy, 1 function, 2 MB artifact:    {clock.median('one'):6.3f} s "
        f"({clock.calls['one']} Lambda calls)"
    )
    print(
        f"    deploy, 50 functions, 2 MB artifact:  {clock.median('fifty'):6.3f} s "
        f"({clock.calls['fifty']} Lambda calls) = {ratio:.2f}x the 1-function deploy "
        f"(goal <= 1.5x){clock.against_floor('fifty')}"
    )
    print(
        f"(e) code change, 50 functions:            {clock.median('code'):6.3f} s "
        f"({clock.calls['code']} Lambda calls){clock.against_floor('code')}"
        f"{clock.breakdown('code')}"
    )
    print(
        f"    config change, 50 functions:          {clock.median('config'):6.3f} s "
        f"({clock.calls['config']} Lambda calls)"
    )
    print(
        f"(b) rollback, 50 functions:               {clock.median('rollback'):6.3f} s "
        f"({clock.calls['rollback']} Lambda calls; {back.aliases_moved} aliases moved, "
        f"{len(back.redeployed)} redeployed) (goal < 1 s){clock.against_floor('rollback')}"
        f"{clock.breakdown('rollback')}"
    )
    print(
        f"(c) same artifact again, 50 functions:    {clock.median('again'):6.3f} s "
        f"({clock.calls['again']} Lambda calls): {again.bytes_uploaded} bytes uploaded, "
        f"{again.code_updates} code updates, {again.config_updates} config updates, "
        f"{again.aliases_moved} aliases moved (goal: 0 bytes, 0 code updates)"
    )
    print(
        f"(d) rollback, 50 functions recreated:     {clock.median('recreated'):6.3f} s "
        f"({clock.calls['recreated']} Lambda calls; {len(recreated.redeployed)} verified "
        "as not the release's and deployed again)"
    )
    if proxy is not None:
        print(f"answered 429 by the quota, retried, never raised: {clock.throttled}")
        print(f"calls of the last step: {dict(proxy.calls)}")


if __name__ == "__main__":
    main()
