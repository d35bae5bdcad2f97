"""The gate between publishing and moving `live`, with functions really run by the local
runtime: a release phase that times out, and a first release stopped by its gate."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from laambda.config import Settings
from laambda.deploy.gate import Gate, SmokeCheck
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.deploy.observe import invoker
from laambda.domain.function import RELEASE_ENTRY
from laambda.domain.redact import REDACTED, Redactor
from laambda.errors import DeployFailed
from tests.support.deploy import Artifact

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

CODE = """\
import time


def handler(event, context):
    return {"statusCode": STATUS}


def release(event, context):
    print("release starts")
    time.sleep(SLEEP)
    return "done"
"""


# a secret of letters found nowhere else in a log: any 3 of them in a row are a piece of it
SECRET = "zqxj" * 16
LEAKS = f"""\
def handler(event, context):
    return {{"statusCode": 200}}


def release(event, context):
    for _ in range(150):  # 65 bytes a line: the 4 KB tail begins inside one of them
        print("{SECRET}")
    raise RuntimeError("{SECRET}")
"""


def code(tmp_path: Path, *, status: int = 200, sleep: float = 0, source: str = CODE) -> Artifact:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        text = source.replace("STATUS", str(status)).replace("SLEEP", str(sleep))
        archive.writestr(zipfile.ZipInfo("main.py", date_time=(2020, 1, 1, 0, 0, 0)), text)
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    path = tmp_path / f"{sha256}.zip"
    path.write_bytes(data)
    return Artifact(path, sha256)


def gate(
    settings: Settings,
    app: str,
    log: list[str],
    *checks: SmokeCheck,
    redact: Callable[[str], str] = str,
) -> Gate:
    return Gate(
        invoker(settings, settings.aws_region, read_timeout=30),
        log=log.append,
        redact=redact,
        release_function=f"{app}-{RELEASE_ENTRY}",
        checks=list(checks),
    )


@pytest.mark.usefixtures("local_runtime")
def test_a_release_phase_that_times_out_moves_nothing(
    deployer: Deployer,
    spec: Callable[..., FunctionSpec],
    app: str,
    settings: Settings,
    lambda_client: LambdaClient,
    log: list[str],
    tmp_path: Path,
) -> None:
    specs = [spec("web"), spec(RELEASE_ENTRY, handler="main.release", timeout=1)]
    first = code(tmp_path)
    done = deployer.deploy(
        app,
        specs,
        artifact=first.path,
        sha256=first.sha256,
        description="v1",
        hold=(RELEASE_ENTRY,),
        before_live=gate(settings, app, log),
    )
    assert done.versions == {f"{app}-web": "1"}
    assert done.held == {f"{app}-release": "1"}
    assert "       release starts" in log

    slow = code(tmp_path, sleep=5)
    with pytest.raises(DeployFailed, match="release phase failed") as failed:
        deployer.deploy(
            app,
            specs,
            artifact=slow.path,
            sha256=slow.sha256,
            description="v2",
            hold=(RELEASE_ENTRY,),
            before_live=gate(settings, app, log),
        )
    assert "Task timed out after 1" in failed.value.message
    live = lambda_client.get_alias(FunctionName=f"{app}-web", Name="live")
    assert live["FunctionVersion"] == "1"


@pytest.mark.usefixtures("local_runtime")
def test_a_first_release_stopped_by_its_gate_leaves_no_function(
    deployer: Deployer,
    spec: Callable[..., FunctionSpec],
    app: str,
    settings: Settings,
    lambda_client: LambdaClient,
    log: list[str],
    tmp_path: Path,
) -> None:
    unhealthy = code(tmp_path, status=503)
    check = SmokeCheck(f"{app}-web", b'{"rawPath": "/"}', 200)
    with pytest.raises(DeployFailed, match="statusCode 503, expected 200"):
        deployer.deploy(
            app,
            [spec("web")],
            artifact=unhealthy.path,
            sha256=unhealthy.sha256,
            description="v1",
            before_live=gate(settings, app, log, check),
        )
    # never live: deleted, as when a move fails
    with pytest.raises(ClientError, match="ResourceNotFound"):
        lambda_client.get_function(FunctionName=f"{app}-web")


@pytest.mark.usefixtures("local_runtime")
def test_a_secret_the_release_phase_prints_is_hidden_even_where_its_log_is_cut(
    deployer: Deployer,
    spec: Callable[..., FunctionSpec],
    app: str,
    settings: Settings,
    log: list[str],
    tmp_path: Path,
) -> None:
    leaks = code(tmp_path, source=LEAKS)
    with pytest.raises(DeployFailed, match="release phase failed") as failed:
        deployer.deploy(
            app,
            [spec("web"), spec(RELEASE_ENTRY, handler="main.release")],
            artifact=leaks.path,
            sha256=leaks.sha256,
            description="v1",
            hold=(RELEASE_ENTRY,),
            before_live=gate(settings, app, log, redact=Redactor([SECRET])),
        )
    shown = "\n".join([*log, failed.value.message])
    assert f"       {REDACTED}" in log
    assert f'"errorMessage": "{REDACTED}"' in failed.value.message
    assert re.search("[zqxj]{3}", shown) is None, shown
