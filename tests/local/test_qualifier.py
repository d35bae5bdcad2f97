"""Invoking an alias runs the alias's version, its code and its configuration, as Lambda does:
after a rollback (the alias moved back) the older code answers, and its START line and
context name the version number."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from laambda.config import Settings
from laambda.deploy import aws
from laambda.local.runtime.pool import LocalRuntime
from tests.support.archives import zip_of
from tests.support.aws import ROLE, ensure_role

CODE = """\
import os


def handler(event, context):
    return {{
        "code": "{code}",
        "colour": os.environ.get("COLOUR"),
        "version": context.function_version,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "platform": sorted(name for name in os.environ if name.startswith("LAAMBDA_")),
    }}
"""


def zipped(code: str, tmp_path: Path) -> bytes:
    return zip_of({"main.py": CODE.format(code=code)}, tmp_path / f"{code}.zip").read_bytes()


def test_invoking_live_runs_the_aliased_version(
    settings: Settings,
    tmp_path: Path,
    local_runtime: LocalRuntime,  # noqa: ARG001 (functions run only with it)
) -> None:
    ensure_role(settings)
    client = aws.lambda_client(settings)
    name = f"q{os.urandom(4).hex()}"
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="main.handler",
        Code={"ZipFile": zipped("one", tmp_path)},
        Environment={"Variables": {"COLOUR": "red"}},
        Timeout=10,
    )
    first = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=first)
    client.update_function_code(FunctionName=name, ZipFile=zipped("two", tmp_path))
    client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"COLOUR": "blue"}}
    )
    second = client.publish_version(FunctionName=name)["Version"]
    assert first != second
    client.update_alias(FunctionName=name, Name="live", FunctionVersion=second)

    def invoke(qualifier: str = "$LATEST") -> tuple[dict[str, object], str, str]:
        done = client.invoke(FunctionName=name, LogType="Tail", Qualifier=qualifier)
        answer = json.loads(done["Payload"].read())
        log = base64.b64decode(done["LogResult"]).decode()
        return answer, done["ExecutedVersion"], log

    answer, executed, log = invoke("live")
    assert (answer["code"], answer["colour"], answer["version"]) == ("two", "blue", second)

    client.update_alias(FunctionName=name, Name="live", FunctionVersion=first)  # a rollback
    answer, executed, log = invoke("live")
    assert (answer["code"], answer["colour"], answer["version"]) == ("one", "red", first)
    assert executed == first
    assert f"Version: {first}" in log.splitlines()[0]
    # the platform's AWS endpoint and settings are not the function's
    assert (answer["endpoint"], answer["platform"]) == (None, [])

    answer, executed, log = invoke()
    assert (answer["code"], answer["colour"], answer["version"]) == ("two", "blue", "$LATEST")
    assert executed == "$LATEST"
