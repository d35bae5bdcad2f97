"""Functions run seeing only what Lambda gives them (bubblewrap, when it can run here): their
code read-only at /var/task, the runtime, a /tmp of their own; no host file outside those,
no service on the host's loopback, no variable of the platform's."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from laambda.local.runtime import sandbox
from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction
from tests.support.archives import zip_of

CODE = """\
import os
import socket


def peek(event, context):
    def attempt(action):
        try:
            return action()
        except OSError as exc:
            return type(exc).__name__
    def connect():
        with socket.create_connection(("127.0.0.1", event["port"]), timeout=2) as conn:
            conn.sendall(b"stolen")
            return "connected"
    return {
        "secrets": {path: attempt(lambda: open(path).read()) for path in event["secrets"]},
        "listing": attempt(lambda: os.listdir(event["folder"])),
        "home": attempt(lambda: os.listdir(os.path.expanduser("~"))),
        "loopback": attempt(connect),
        "own_code": attempt(lambda: open("main.py").read()[:9]),
        "file": __file__,
        "cwd": os.getcwd(),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "variables": sorted(os.environ),
        "write_code": attempt(lambda: open("new.txt", "w").write("x")),
        "write_tmp": attempt(lambda: open("/tmp/scratch", "w").write("x")),
        "pid": os.getpid(),
    }
"""


def function(code: bytes) -> LocalFunction:
    return LocalFunction(
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


@pytest.mark.skipif(sandbox.available() is None, reason="bubblewrap cannot run here")
def test_function_sees_only_its_code_runtime_and_tmp(tmp_path: Path, runtime_cache: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("do-not-read")
    host_file = tmp_path / "operator-token"
    host_file.write_text("do-not-read")
    checkout = Path(__file__).resolve().parents[2] / "pyproject.toml"  # under /work
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    code = zip_of({"main.py": CODE}, tmp_path / "code.zip").read_bytes()
    runtime = LocalRuntime(runtime_cache)
    secrets = [str(data / "secret_key"), str(host_file), str(checkout)]
    event = {"secrets": secrets, "folder": str(data), "port": listener.getsockname()[1]}
    try:
        outcome = runtime.invoke(function(code), json.dumps(event).encode())
    finally:
        runtime.close()
    assert outcome.function_error is None, outcome.payload
    seen = json.loads(outcome.payload)
    assert seen["secrets"] == dict.fromkeys(secrets, "FileNotFoundError")
    assert seen["listing"] == "FileNotFoundError"
    assert seen["home"] in ("FileNotFoundError", [], [".pyenv"])  # at most the interpreter
    assert seen["loopback"] in ("ConnectionRefusedError", "OSError")
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing came from the function
    listener.close()
    assert seen["own_code"] == "import os"
    # its code where Lambda puts it: stack traces name /var/task, not the host's folders
    assert (seen["file"], seen["cwd"], seen["task_root"]) == (
        "/var/task/main.py",
        "/var/task",
        "/var/task",
    )
    assert not [name for name in seen["variables"] if name.startswith("LAAMBDA_")]
    assert "AWS_ENDPOINT_URL" not in seen["variables"]
    assert "AWS_SECRET_ACCESS_KEY" not in seen["variables"]
    assert seen["write_code"] == "OSError"  # a read-only file system, as Lambda's /var/task
    assert seen["write_tmp"] == 1
    assert seen["pid"] < 10  # its own process ids: no other process's /proc/<pid>/environ
    assert outcome.max_memory_mb > 5
