"""A worker killed (SIGKILL) anywhere in a deploy: within a minute every `live` alias of the
app is on the versions of one release, and the database says which (DESIGN.md invariants).

These tests run a worker of their own, with the recovery sweep every 2 s and two functions
deployed at a time (so that moving 50 aliases takes long enough to be cut short).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings, settings_env
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.domain.status import ReleaseStatus
from laambda.logstream import LogEvent, follow
from laambda.objectstore import ObjectStore
from laambda.services.build import build_service
from laambda.services.release import release_service
from laambda.services.user import user_service
from tests.conftest import LiveWorker, _start_worker
from tests.worker.conftest import Platform, python_app, tarball

ENTRIES = [f"fn{n:02d}" for n in range(50)]
RECOVERY_SECONDS = 60


def _worker_settings(database_url: str, moto_url: str, data_dir: str) -> Settings:
    return Settings(
        database_url=database_url,
        aws_endpoint_url=moto_url,
        artifact_bucket="laambda-crash",
        data_dir=data_dir,
        queue=f"laambda-crash-{uuid.uuid4().hex[:8]}",
        builder="wheels",
        applier="celery",
        recovery_interval=2,
        deploy_concurrency=2,
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
    )


def _stop(worker: LiveWorker) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()
    if worker.process.stdout is not None:
        worker.process.stdout.close()


@pytest.fixture
def crash_platform(
    database_url: str,
    moto_url: str,
    committed_sessions: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    settings = _worker_settings(database_url, moto_url, str(tmp_path_factory.mktemp("crash")))
    env = dict(os.environ) | settings_env(settings)
    process, output = _start_worker(env)
    worker = LiveWorker(settings, env, process, output)
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    iam = aws.client("iam", settings)
    if not iam.list_roles()["Roles"]:
        iam.create_role(RoleName="lambda-basic", AssumeRolePolicyDocument="{}")
    with session_scope(committed_sessions) as session:
        user, _ = user_service.create(session, "crash@example.com")
    platform = Platform(
        worker=worker,
        sessions=committed_sessions,
        store=store,
        streams=redis.Redis.from_url(settings.redis_url),
        user=user,
        lambda_client=aws.lambda_client(settings),
    )
    yield platform
    _stop(platform.worker)
    platform.streams.close()


@dataclass
class Watched:
    """A push whose log is read in the background while the test kills things."""

    build_id: int
    events: list[LogEvent] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)

    def lines(self, needle: str) -> int:
        return sum(1 for e in list(self.events) if e.line is not None and needle in e.line)


def _push(platform: Platform, app: App, files: dict[str, str], commit: str) -> Watched:
    key = f"sources/{app.name}/{commit}.tar.gz"
    platform.store.put_bytes(key, tarball(files))
    with session_scope(platform.sessions) as session:
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit=commit,
            source_key=key,
            queue=platform.worker.queue,
        )
        watched, uid = Watched(build.id), build.uid

    def read() -> None:
        for event in follow(platform.streams, uid, idle_seconds=1):
            if event is not None:
                watched.events.append(event)
        watched.ended.set()

    threading.Thread(target=read, daemon=True).start()
    return watched


def _wait_for(condition: Callable[[], bool], what: str, platform: Platform, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}:\n{platform.worker.tail()}"
        time.sleep(0.02)


def _kill_pool(platform: Platform) -> None:
    children = platform.worker.children()
    assert children, "the worker has no pool processes"
    for pid in children:
        os.kill(pid, signal.SIGKILL)


def _aliases(platform: Platform, app: str) -> dict[str, str]:
    client = platform.lambda_client
    return {
        f"{app}-{e}": client.get_alias(FunctionName=f"{app}-{e}", Name="live")["FunctionVersion"]
        for e in ENTRIES
    }


def _settled(platform: Platform, app: App) -> Release | None:
    """The app's current release once nothing of the app is pending or applying any more."""
    with session_scope(platform.sessions) as session:
        row = session.get_one(App, app.id)
        if any(r.app_id == app.id for r in release_service.unfinished(session)):
            return None
        return release_service.current(session, row)


def _assert_consistent_within_a_minute(platform: Platform, app: App, killed_at: float) -> Release:
    current: Release | None = None

    def settled() -> bool:
        nonlocal current
        current = _settled(platform, app)
        return current is not None

    _wait_for(settled, "the release was not finished", platform, RECOVERY_SECONDS)
    assert current is not None
    assert current.status == ReleaseStatus.SUCCEEDED, current.error
    assert time.monotonic() - killed_at < RECOVERY_SECONDS
    # every alias on the versions of the one release the database calls current
    assert _aliases(platform, app.name) == current.function_versions
    return current


def _deployed(platform: Platform, app: App) -> dict[str, str]:
    first = _push(platform, app, python_app(ENTRIES), commit="1" * 40)
    _wait_for(first.ended.is_set, "the first push did not end", platform, 300)
    assert first.events[-1].status == "succeeded", first.events[-1].detail
    return _aliases(platform, app.name)


def test_pool_killed_while_publishing_versions(crash_platform: Platform) -> None:
    platform = crash_platform
    app = platform.create_app("pub")
    before = _deployed(platform, app)
    second = _push(platform, app, python_app(ENTRIES, marker="2"), commit="2" * 40)
    _wait_for(lambda: second.lines(": version 2") >= 10, "no versions", platform, 300)

    _kill_pool(platform)
    killed_at = time.monotonic()
    assert 10 <= second.lines(": version 2") < len(ENTRIES)  # cut short while publishing

    current = _assert_consistent_within_a_minute(platform, app, killed_at)
    assert current.version == 2
    assert set(current.function_versions or {}) == set(before)
    _wait_for(second.ended.is_set, "the pusher was not told", platform, 30)
    assert second.events[-1].detail.startswith("Released v2: "), second.events[-1]
    assert second.lines("deploying it again") == 1


def test_pool_killed_while_moving_aliases(crash_platform: Platform) -> None:
    platform = crash_platform
    app = platform.create_app("mov")
    _deployed(platform, app)
    second = _push(platform, app, python_app(ENTRIES, marker="2"), commit="2" * 40)
    client = platform.lambda_client
    _wait_for(
        lambda: client.get_alias(FunctionName="mov-fn00", Name="live")["FunctionVersion"] == "2",
        "live never moved",
        platform,
        300,
    )

    _kill_pool(platform)
    killed_at = time.monotonic()
    half = _aliases(platform, app.name)
    assert set(half.values()) == {"1", "2"}, "not cut short while moving aliases"

    current = _assert_consistent_within_a_minute(platform, app, killed_at)
    assert current.version == 2
    _wait_for(second.ended.is_set, "the pusher was not told", platform, 30)
    assert second.events[-1].status == "succeeded", second.events[-1]


def test_whole_worker_killed_while_moving_aliases_is_finished_by_the_next(
    crash_platform: Platform,
) -> None:
    """No broker redelivery here (the task stays unacknowledged for the visibility timeout,
    an hour): only the next worker's recovery sweep finishes the release."""
    platform = crash_platform
    app = platform.create_app("whole")
    _deployed(platform, app)
    release_id = platform.change_config(app, {"BUCKET": "after"})
    client = platform.lambda_client
    _wait_for(
        lambda: client.get_alias(FunctionName="whole-fn00", Name="live")["FunctionVersion"] == "2",
        "live never moved",
        platform,
        300,
    )
    children = platform.worker.children()
    os.kill(platform.worker.process.pid, signal.SIGKILL)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    platform.worker.process.wait()
    time.sleep(0.5)  # its output reader sees the end of the pipe
    if platform.worker.process.stdout is not None:
        platform.worker.process.stdout.close()
    assert set(_aliases(platform, app.name).values()) == {"1", "2"}

    process, output = _start_worker(platform.worker.env)
    platform.worker = LiveWorker(platform.worker.settings, platform.worker.env, process, output)

    current = _assert_consistent_within_a_minute(platform, app, killed_at)
    assert current.id == release_id
    live = platform.live("whole-fn49")
    assert live["Environment"]["Variables"] == {"BUCKET": "after"}


def test_a_busy_pool_child_killed_then_more_work_all_succeeds(crash_platform: Platform) -> None:
    """A replacement child must not use the connections it inherited from the main process
    (which the recovery sweep uses): it once failed every task with DuplicatePreparedStatement."""
    platform = crash_platform
    app = platform.create_app("busy")
    pushed = _push(platform, app, python_app(["web", "api"]), commit="3" * 40)
    _wait_for(lambda: pushed.lines("Python app detected") >= 1, "no build", platform, 60)
    _kill_pool(platform)
    _wait_for(pushed.ended.is_set, "the killed build never ended", platform, 120)

    for n in range(3):
        again = platform.push(app, python_app(["web", "api"], marker=f"m{n}"), commit=f"{n}" * 40)
        assert again.outcome.status == "succeeded", again.text + platform.worker.tail()
        release = platform.wait_release(platform.change_config(app, {"NN": str(n)}), timeout=60)
        assert release.status == "succeeded", release.error
    with session_scope(platform.sessions) as session:
        last = release_service.current(session, session.get_one(App, app.id))
        assert last is not None
        assert last.status == "succeeded"
        build = session.get_one(Build, pushed.build_id)
        assert build.status in ("succeeded", "abandoned")
    assert "DuplicatePreparedStatement" not in "".join(platform.worker.output)
