"""The local runtime on its own: scaling out when busy, a crashed runtime replaced, and a
runtime the machine lacks named in the error."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from laambda.local.runtime.interpreters import RuntimeUnavailable
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction, Outcome
from tests.support.archives import zip_of

CODE = """\
import os
import time

STARTED = time.time_ns()


def nap(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "started": STARTED}


def crash(event, context):
    print("leaving now")
    os._exit(3)
"""


@pytest.fixture
def runtime(runtime_cache: Path) -> Iterator[LocalRuntime]:
    local = LocalRuntime(runtime_cache)
    yield local
    local.close()


def _function(tmp_path: Path, handler: str, runtime: str = "python3.12") -> LocalFunction:
    code = zip_of({"main.py": CODE}, tmp_path / "code.zip").read_bytes()
    return LocalFunction(
        name="f",
        version="1",
        arn="arn:aws:lambda:us-east-1:123456789012:function:f:1",
        handler=handler,
        runtime=runtime,
        timeout=10,
        memory_mb=128,
        region="us-east-1",
        code_sha256=hashlib.sha256(code).hexdigest(),
        code=lambda: code,
    )


def test_busy_environments_scale_out_and_stay_warm(runtime: LocalRuntime, tmp_path: Path) -> None:
    function = _function(tmp_path, "main.nap")
    runtime.invoke(function, b"{}")  # one warm environment
    outcomes: list[Outcome] = []

    def call() -> None:
        outcomes.append(runtime.invoke(function, b'{"sleep": 1}'))

    threads = [threading.Thread(target=call) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 1.9  # side by side, as Lambda scales out
    processes = {json.loads(o.payload)["started"] for o in outcomes}  # pids repeat in sandboxes
    assert len(processes) == 2
    assert sorted(o.init_ms is None for o in outcomes) == [False, True]  # one warm, one cold
    again = runtime.invoke(function, b"{}")
    assert again.init_ms is None
    assert json.loads(again.payload)["started"] in processes


def test_a_runtime_that_exits_is_replaced(runtime: LocalRuntime, tmp_path: Path) -> None:
    crashed = runtime.invoke(_function(tmp_path, "main.crash"), b"{}")
    assert crashed.function_error == "Unhandled"
    error = json.loads(crashed.payload)
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert "leaving now" in crashed.lines
    again = runtime.invoke(_function(tmp_path, "main.crash"), b"{}")
    assert again.init_ms is not None  # a new environment


def test_a_runtime_the_machine_lacks_is_named(runtime: LocalRuntime, tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailable, match=r"^nodejs99\.x is not on this machine"):
        runtime.invoke(_function(tmp_path, "index.handler", "nodejs99.x"), b"{}")
