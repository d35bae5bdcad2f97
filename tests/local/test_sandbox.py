"""Functions run where the platform's secrets are out of sight (bubblewrap, when it can run
here): the hidden folders are empty, the code is read-only, /tmp is the function's own."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from laambda.local.runtime import sandbox
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction
from tests.local.conftest import artifact

CODE = """\
import os


def peek(event, context):
    def attempt(action):
        try:
            return action()
        except OSError as exc:
            return type(exc).__name__
    secret = event["secret"]
    return {
        "secret": attempt(lambda: open(secret).read()),
        "listing": attempt(lambda: os.listdir(os.path.dirname(secret))),
        "own_code": attempt(lambda: open("main.py").read()[:9]),
        "write_code": attempt(lambda: open("new.txt", "w").write("x")),
        "write_tmp": attempt(lambda: open("/tmp/scratch", "w").write("x")),
        "pid": os.getpid(),
    }
"""


@pytest.mark.skipif(sandbox.available() is None, reason="bubblewrap cannot run here")
def test_hidden_folders_are_empty_and_code_read_only(tmp_path: Path, runtime_cache: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("do-not-read")
    code = artifact({"main.py": CODE}, tmp_path / "code.zip").read_bytes()
    function = LocalFunction(
        name="peek",
        version="$LATEST",
        arn="arn:aws:lambda:us-east-1:123456789012:function:peek",
        handler="main.peek",
        runtime="python3.12",
        timeout=10,
        memory_mb=128,
        region="us-east-1",
        code_sha256=hashlib.sha256(code).hexdigest(),
        code=lambda: code,
    )
    runtime = LocalRuntime(runtime_cache, hidden=[data])
    try:
        outcome = runtime.invoke(
            function, json.dumps({"secret": str(data / "secret_key")}).encode()
        )
    finally:
        runtime.close()
    assert outcome.function_error is None, outcome.payload
    seen = json.loads(outcome.payload)
    assert seen["secret"] == "FileNotFoundError"
    assert seen["listing"] == []
    assert seen["own_code"] == "import os"
    assert seen["write_code"] == "OSError"  # a read-only file system, as Lambda's /var/task
    assert seen["write_tmp"] == 1
    assert seen["pid"] < 10  # its own process ids: no other process's /proc/<pid>/environ
    assert outcome.max_memory_mb > 5
