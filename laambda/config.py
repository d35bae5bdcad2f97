"""Every server setting comes from LAAMBDA_* environment variables (and an optional .env file).

The defaults run everything on one machine; only the secret key has none, because a default
key would silently make every installation's config vars readable with the same key.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from laambda.errors import SettingsError

# the longest LAAMBDA_BUILD_SOCKET_DIR: a build's egress socket is made at
# <dir>/<22 random characters>/egress-<8>/egress.sock, and a unix socket's path holds 107 bytes
MAX_SOCKET_DIR = 56


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAAMBDA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # storage and queue
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/laambda"
    broker_url: str = "redis://127.0.0.1:6379/0"
    # build logs stream through Redis to the git receiver, on whichever host it runs
    redis_url: str = "redis://127.0.0.1:6379/0"
    data_dir: Path = Path.home() / ".local" / "share" / "laambda"
    # this host's name in /health and /metrics (workers announce themselves under it)
    host_name: str = Field(default_factory=socket.gethostname, min_length=1, max_length=200)

    # secrets: config vars are encrypted at rest with a key derived from this
    secret_key: str = Field(min_length=32)

    # AWS
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    artifact_bucket: str = "laambda-artifacts"
    default_role: str | None = None

    # API and receiver
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=5000, ge=1, le=65535)
    ssh_host: str = "127.0.0.1"
    ssh_port: int = Field(default=2222, ge=0, le=65535)  # 0: any free port
    push_lock_timeout: float = Field(default=600.0, gt=0)

    # applying releases: "celery" hands them to the worker, "inline" only records them
    applier: Literal["inline", "celery"] = "celery"
    # the Celery queue workers consume (separate queues keep installations on one Redis apart)
    queue: str = "laambda"
    # how often a worker looks for builds and releases whose worker died
    sweep_interval: float = Field(default=60.0, gt=0)
    # seconds before the broker hands an unacknowledged task (its worker died) to another worker
    task_visibility_timeout: int = Field(default=3600, ge=1)

    # builds
    builder: Literal["docker", "wheels"] = "wheels"
    build_image_template: str = "public.ecr.aws/sam/build-{runtime}"
    build_images: dict[str, str] = {}
    # how the Docker builder gives its build containers their folders: "bind" mounts the
    # worker's own folders (the engine runs on the worker's host and sees its paths); "volumes"
    # puts them in engine volumes and copies them in and out through the Docker API (a worker
    # in a container reaching the engine through a socket, as in docker-compose.yml)
    build_mounts: Literal["bind", "volumes"] = "bind"
    # with build_mounts=volumes: the engine volume shared by the worker and its build
    # containers for the egress proxy's sockets, and where the worker sees it mounted
    build_socket_volume: str = "laambda-egress"
    build_socket_dir: Path = Path("/run/laambda-egress")
    max_source_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_unpacked_bytes: int = Field(default=500 * 1024 * 1024, gt=0)
    # files, folders and links an uploaded source tarball (`laambda deploy`) may hold
    max_source_entries: int = Field(default=20_000, gt=0)
    build_timeout: int = Field(default=1800, gt=0)
    # package indexes, find-links and URL/git sources builds may use (and what is below them);
    # the first is the Python index used when a dependency file names none
    allowed_indexes: list[str] = ["https://pypi.org/simple", "https://registry.npmjs.org"]
    # the only hosts a build's installer may reach (`host` for ports 80 and 443, or host:port),
    # through the worker's egress proxy; JSON list
    build_egress_hosts: list[str] = ["pypi.org", "files.pythonhosted.org", "registry.npmjs.org"]
    # networks (CIDR) a build may reach although loopback, link-local or private, e.g. a mirror
    # on the office network; JSON list
    build_egress_networks: list[str] = []

    # deploys
    deploy_concurrency: int = Field(default=8, ge=1, le=64)
    # Lambda control-plane requests a second a worker sends once Lambda has throttled it:
    # all calls but GetFunction share `lambda_rate`, GetFunction has its own (AWS's quotas)
    lambda_rate: float = Field(default=15.0, gt=0)
    lambda_get_function_rate: float = Field(default=100.0, gt=0)
    retained_releases: int = Field(default=5, ge=1)
    # seconds between a worker's looks for releases left pending or applying by a worker that
    # died; each is applied again (DESIGN.md: finished or put back within a minute)
    recovery_interval: float = Field(default=10.0, gt=0)
    # seconds between reads of a canary's Errors and Throttles (and progress lines to the
    # pusher); promote and abort requests are seen within a second whatever this is
    canary_check_interval: float = Field(default=15.0, gt=0)

    # tenants: what a user's app may ask AWS for (admins may ask for anything)
    # IAM roles apps may run as: ARNs or fnmatch patterns, comma-separated or a JSON list;
    # empty: only LAAMBDA_DEFAULT_ROLE
    allowed_roles: Annotated[list[str], NoDecode] = []
    # SQS, Kinesis and DynamoDB-stream ARNs apps may attach (patterns as above); empty: none
    allowed_event_source_arns: Annotated[list[str], NoDecode] = []

    # the local cloud of `laambda up`: where function URLs answer (0: any free port)
    function_url_host: str = "127.0.0.1"
    function_url_port: int = Field(default=5050, ge=0, le=65535)
    # the runtime of apps whose files name no version (no .python-version, engines.node...);
    # unset: the newest Lambda supports. `laambda up` sets them for its local cloud to the
    # newest the machine can run.
    default_python_runtime: str | None = None  # "python3.12"
    default_node_runtime: str | None = None  # "nodejs20.x"

    # dashboard: how long a one-time sign-in link and a signed-in browser session last
    dashboard_link_minutes: int = Field(default=5, ge=1, le=60)
    dashboard_session_hours: int = Field(default=12, ge=1, le=24 * 30)

    @field_validator("default_role")
    @classmethod
    def _role_is_an_arn(cls, value: str | None) -> str | None:
        if value and not value.startswith("arn:"):
            raise ValueError("must be an IAM role ARN such as arn:aws:iam::123456789012:role/name")
        return value

    @field_validator("allowed_roles", "allowed_event_source_arns", mode="before")
    @classmethod
    def _patterns(cls, value: object) -> object:
        """`a, b` or `["a", "b"]` from the environment; a list as it is."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("build_egress_hosts")
    @classmethod
    def _hosts_are_names(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not entry or "/" in entry or " " in entry:
                raise ValueError(f"{entry!r} is not a host name or host:port")
        return value

    @field_validator("build_egress_networks")
    @classmethod
    def _networks_are_cidr(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the entry
        return value

    @field_validator("build_socket_dir")
    @classmethod
    def _socket_dir_fits(cls, value: Path) -> Path:
        if not value.is_absolute() or len(str(value)) > MAX_SOCKET_DIR:
            raise ValueError(f"must be an absolute path of at most {MAX_SOCKET_DIR} characters")
        return value

    def build_image(self, runtime: str) -> str:
        """The lambci-style image that builds dependencies for a Lambda runtime."""
        return self.build_images.get(runtime) or self.build_image_template.format(runtime=runtime)


def settings_env(settings: Settings) -> dict[str, str]:
    """The LAAMBDA_* variables that give another process (a worker, a git hook) these settings."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        env[f"LAAMBDA_{name.upper()}"] = text
    return env


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        variable = f"LAAMBDA_{field.upper()}"
        if first["type"] == "missing":
            raise SettingsError(f"{variable} is not set: {_HINTS.get(field, 'set it')}") from None
        raise SettingsError(f"{variable} is malformed: {first['msg']}") from None


_HINTS = {
    "secret_key": "set it to a random string of at least 32 characters "
    "(python -c 'import secrets; print(secrets.token_urlsafe(32))')",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
