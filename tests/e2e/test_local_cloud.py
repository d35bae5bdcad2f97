"""The local cloud under `laambda up`, as a user meets it: no Docker, no Redis server. Push a
Python and a Node.js app; invoke them (answer, error shape, timeout), read their logs and
metrics, call a function URL over HTTP; kill the worker and see it healed; stop with SIGTERM
and find nothing left running; start again and find everything live without a new push."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port
from tests.support.up import Platform, push, ssh_key

pytestmark = pytest.mark.slow  # `laambda up` in a home of its own: a minute or more

PYTHON_APP = {
    "requirements.txt": "",
    ".python-version": "3.12\n",
    "Procfile": "web: app.web\nfail: app.fail\nslow: app.slow\n",
    "app.py": """\
import os
import time


def web(event, context):
    print("web got", event)
    if "rawPath" in event:
        return {"statusCode": 200, "body": "hello from " + event["rawPath"]}
    return {
        "hello": event.get("who"),
        "function": context.function_name,
        "color": os.environ.get("COLOR"),
    }


def fail(event, context):
    raise RuntimeError("it broke")


def slow(event, context):
    print("going to sleep")
    time.sleep(20)
""",
}
NODE_APP = {
    "package.json": json.dumps({"name": "nodeapp", "version": "1.0.0"}),
    ".nvmrc": "20\n",
    "Procfile": "hi: index.hi\n",
    "index.js": "exports.hi = async (event) => ({ node: process.version, got: event });\n",
}


def _health(platform: Platform) -> dict[str, object]:  # noqa: F811
    answer: dict[str, object] = httpx.get(f"http://127.0.0.1:{platform.api_port}/health").json()
    return answer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_local_cloud_runs_functions_and_survives_a_restart(
    platform: Platform,  # noqa: F811
) -> None:
    with socket.socket() as unused:  # a port no Redis listens on
        unused.bind(("127.0.0.1", 0))
        platform.env["LAAMBDA_REDIS_URL"] = f"redis://127.0.0.1:{unused.getsockname()[1]}/0"
    platform.env["LAAMBDA_FUNCTION_URL_PORT"] = str(free_port())
    printed = platform.start()
    assert "queue: no Redis answered" in printed
    assert f"function URLs: http://127.0.0.1:{platform.env['LAAMBDA_FUNCTION_URL_PORT']}" in printed
    key = ssh_key(platform)
    assert "Released v1" in push(platform, key, "pyapp", PYTHON_APP)
    assert "Released v1" in push(platform, key, "ndapp", NODE_APP)

    done = platform.cli("invoke", "web", "--data", '{"who": "ada"}', "-a", "pyapp")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"hello": "ada", "function": "pyapp-web", "color": None}
    failed = platform.cli("invoke", "fail", "-a", "pyapp")
    assert failed.returncode == 1
    error = json.loads(failed.stderr.split(": ", 2)[2])
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "it broke")
    assert error["stackTrace"]
    assert platform.cli("resource:timeout", "slow", "1", "-a", "pyapp").returncode == 0
    stopped = platform.cli("invoke", "slow", "-a", "pyapp")
    assert "Task timed out after 1.00 seconds" in stopped.stderr, stopped.stderr
    node = platform.cli("invoke", "hi", "--data", '{"n": 2}', "-a", "ndapp")
    assert node.returncode == 0, node.stderr
    assert json.loads(node.stdout)["got"] == {"n": 2}

    logs = platform.cli("logs", "--since", "10m", "-a", "pyapp").stdout
    assert "app[web]: web got {'who': 'ada'}" in logs
    assert "app[web]: REPORT RequestId:" in logs
    metrics = json.loads(platform.cli("metrics", "-a", "pyapp", "--json").stdout)
    rows = {row["name"]: row for row in metrics["functions"]}
    assert rows["web"]["invocations"] == 1
    assert (rows["fail"]["invocations"], rows["fail"]["errors"]) == (1, 1)

    added = platform.cli("event-sources:add", "web", "http", "-a", "pyapp")
    assert added.returncode == 0, added.stderr
    found = re.search(r"http://127\.0\.0\.1:\d+/[0-9a-f]+/", added.stdout)
    assert found, added.stdout
    url = found.group(0)
    curl = subprocess.run(["curl", "-s", url + "there"], capture_output=True, text=True)
    assert curl.stdout == "hello from /there"

    parts = _health(platform)["parts"]
    assert isinstance(parts, dict)
    assert {name: part["status"] for name, part in parts.items()} == {
        "database": "up",
        "redis": "up",
        "object_store": "up",
        "workers": "up",  # the worker hosts seen (one here), laambda/api/fleet.py
        "worker": "up",
        "receiver": "up",
        "queue": "up",
    }
    worker_pid = int(parts["worker"]["pid"])
    os.kill(worker_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        parts = _health(platform)["parts"]
        assert isinstance(parts, dict)
        if parts["worker"]["pid"] != worker_pid and parts["worker"]["status"] == "up":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the worker was not restarted within 10 s: {parts}")
    set_config = platform.cli("config:set", "COLOR=blue", "-a", "pyapp")
    assert set_config.returncode == 0, set_config.stderr + platform.log.read_text()[-2000:]
    receiver_pid = int(parts["receiver"]["pid"])
    new_worker_pid = int(parts["worker"]["pid"])

    assert platform.process is not None
    platform.process.send_signal(signal.SIGTERM)
    platform.process.wait(timeout=60)
    postgres = platform.home / "data" / "postgres" / "postmaster.pid"
    assert not postgres.exists(), platform.log.read_text()[-4000:]
    assert not _alive(receiver_pid)
    assert not _alive(new_worker_pid)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(platform.home / "data")], capture_output=True, text=True
    )
    assert leftovers.stdout == "", leftovers.stdout

    again = platform.start()
    assert "local cloud: 2 live releases put back, 0 failed" in again, again
    assert f"pyapp web: {url}" in again
    after = platform.cli("invoke", "web", "--data", '{"who": "bob"}', "-a", "pyapp")
    assert after.returncode == 0, after.stderr + platform.log.read_text()[-3000:]
    assert (json.loads(after.stdout)["hello"], json.loads(after.stdout)["color"]) == ("bob", "blue")
    assert platform.cli("invoke", "hi", "-a", "ndapp").returncode == 0
    listed = json.loads(platform.cli("event-sources", "web", "-a", "pyapp", "--json").stdout)
    assert [row["url"] for row in listed] == [url]
    assert httpx.get(url, timeout=30).text == "hello from /"
    rolled = platform.cli("rollback", "v1", "-a", "pyapp")
    assert rolled.returncode == 0, rolled.stderr + platform.log.read_text()[-3000:]
    back = platform.cli("invoke", "web", "--data", '{"who": "cy"}', "-a", "pyapp")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout) == {"hello": "cy", "function": "pyapp-web", "color": None}
