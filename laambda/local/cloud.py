"""The local cloud: moto's server in this process, for a machine with no AWS configured.

Everything laambda does to AWS goes to it over HTTP exactly as it would to AWS. Invoking a
function runs its code with laambda's local runtime (laambda.local.moto_lambda), its code
unpacked and its interpreters' runtime clients kept under `<data dir>/runtime`. Its S3 objects
are kept on disk too (`<data dir>/cloud/s3`), so a restart finds them again.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from laambda.local import moto_lambda, moto_server, object_mirror

ROLE_NAME = "laambda-local"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE_NAME}"


def aws_configured() -> bool:
    """Whether the operator pointed laambda at a cloud (credentials or an endpoint)."""
    names = (
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "LAAMBDA_AWS_ENDPOINT_URL",
    )
    return any(os.environ.get(name) for name in names)


def start_local_cloud(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    url_host: str = "127.0.0.1",
    url_port: int = 0,
) -> tuple[ThreadedMotoServer, str]:
    """Start moto's server, running functions with the local runtime and serving function
    URLs on url_host:url_port, and give it the role local apps run as. Stop it with
    `stop_local_cloud`. Raises OSError when url_port is taken."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "laambda-local",
        "AWS_SECRET_ACCESS_KEY": "laambda-local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    object_mirror.install(data_dir)  # the sources and artifacts of earlier runs, back in S3
    server, url = moto_server.start(host, port)
    try:
        moto_lambda.install(data_dir / "runtime", url_host=url_host, url_port=url_port)
    except OSError:
        server.stop()
        raise
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument="{}")
    return server, url


def stop_local_cloud(server: ThreadedMotoServer) -> None:
    """Stop the functions' processes, then moto's server."""
    moto_lambda.uninstall()
    object_mirror.uninstall()
    server.stop()
