"""`live` with AdditionalVersionWeights on the local cloud: invocations are spread between
the two versions by weight, each recorded under its ExecutedVersion, and clearing the
weights leaves no RoutingConfig, as on Lambda."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.observe import for_region
from laambda.local.runtime.pool import LocalRuntime
from tests.support.archives import zip_of
from tests.support.aws import ROLE, ensure_role

GOOD = "def handler(event, context):\n    return {'ok': True}\n"
BAD = "def handler(event, context):\n    raise ValueError('new code is broken')\n"


def test_weights_spread_invocations_and_errors_are_counted_per_version(
    settings: Settings,
    tmp_path: Path,
    local_runtime: LocalRuntime,  # noqa: ARG001 (functions run only with it)
) -> None:
    ensure_role(settings)
    client = aws.lambda_client(settings)
    name = f"w{os.urandom(4).hex()}"
    good = zip_of({"main.py": GOOD}, tmp_path / "good.zip").read_bytes()
    bad = zip_of({"main.py": BAD}, tmp_path / "bad.zip").read_bytes()
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="main.handler",
        Code={"ZipFile": good},
        Timeout=10,
    )
    old = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=old)
    client.update_function_code(FunctionName=name, ZipFile=bad)
    new = client.publish_version(FunctionName=name)["Version"]
    started = datetime.now(UTC)
    client.update_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion=old,
        RoutingConfig={"AdditionalVersionWeights": {new: 0.25}},
    )
    ran: list[tuple[str, str | None]] = []
    for _ in range(8):
        answer = client.invoke(FunctionName=name, Qualifier="live")
        ran.append((answer["ExecutedVersion"], answer.get("FunctionError")))
    assert ran.count((new, "Unhandled")) == 2  # exactly a quarter
    assert ran.count((old, None)) == 6

    observer = for_region(settings, settings.aws_region)
    end = datetime.now(UTC) + timedelta(minutes=1)
    window = {"start": started - timedelta(minutes=1), "end": end}
    assert observer.canary_problems(name, new, **window) == (2, 0)
    assert observer.canary_problems(name, old, **window) == (0, 0)

    client.update_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion=new,
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    alias = client.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == new
    assert "RoutingConfig" not in alias
