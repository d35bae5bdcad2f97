"""The pre-receive step's rules: which ref updates deploy, and how the build's stream is shown."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, Build, Release
from laambda.logstream import BLOCK_SECONDS, LogEvent, LogPublisher, connect, follow
from laambda.receiver.push import STILL_WORKING, Push, RefUpdate, decided, refusal, relay
from tests.support import factories

OLD, NEW, ZERO = "a" * 40, "b" * 40, "0" * 40


class TestRefusal:
    @pytest.mark.parametrize("ref", ["refs/heads/main", "refs/heads/master"])
    def test_the_deploy_branches_deploy(self, ref: str) -> None:
        assert refusal(RefUpdate(OLD, NEW, ref)) is None
        assert refusal(RefUpdate(ZERO, NEW, ref)) is None  # the first push

    def test_another_branch_names_the_deploy_branch(self) -> None:
        reason = refusal(RefUpdate(OLD, NEW, "refs/heads/feature"))
        assert reason == (
            "pushed to 'feature': laambda deploys the main branch; "
            "push with `git push laambda feature:main`"
        )

    def test_a_tag_is_not_a_branch(self) -> None:
        assert refusal(RefUpdate(ZERO, NEW, "refs/tags/v1")) == (
            "'refs/tags/v1' is not a branch: laambda deploys the main branch only"
        )

    def test_deleting_the_deploy_branch(self) -> None:
        assert refusal(RefUpdate(OLD, ZERO, "refs/heads/main")) == (
            "deleting the deploy branch is not allowed"
        )

    def test_one_refused_update_rejects_the_whole_push(self, settings: Settings) -> None:
        said: list[str] = []
        push = Push(settings, app="thumbs", user_id=1, say=said.append)
        updates = [RefUpdate(OLD, NEW, "refs/heads/main"), RefUpdate(ZERO, NEW, "refs/tags/v1")]
        assert push.run(updates) is False
        assert said == [
            " !     Push rejected: 'refs/tags/v1' is not a branch: "
            "laambda deploys the main branch only"
        ]

    def test_main_and_master_at_once(self, settings: Settings) -> None:
        said: list[str] = []
        push = Push(settings, app="thumbs", user_id=1, say=said.append)
        updates = [RefUpdate(OLD, NEW, "refs/heads/main"), RefUpdate(OLD, NEW, "refs/heads/master")]
        assert push.run(updates) is False
        assert said == [" !     Push rejected: push main or master, not both at once"]


@pytest.fixture
def streams(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


class TestRelay:
    """Against the real Redis stream the worker writes to."""

    def test_lines_then_the_release(self, streams: redis.Redis) -> None:
        build = uuid.uuid4()
        log = LogPublisher(streams, build)
        log.line("-----> Python app detected (python3.12, x86_64)")
        log.finish("succeeded", "Released v7: thumbs-create, thumbs-resize")
        said: list[str] = []
        assert relay(follow(streams, build, idle_seconds=1), said.append) is True
        assert said == [
            "-----> Python app detected (python3.12, x86_64)",
            "-----> Released v7: thumbs-create, thumbs-resize",
        ]

    def test_a_failed_build_rejects_and_says_why(self, streams: redis.Redis) -> None:
        build = uuid.uuid4()
        LogPublisher(streams, build).finish("failed", "Procfile names missing_mod.py")
        said: list[str] = []
        assert relay(follow(streams, build, idle_seconds=1), said.append) is False
        assert said == [" !     Push rejected: Procfile names missing_mod.py"]

    def test_a_cancelled_build_rejects(self, streams: redis.Redis) -> None:
        build = uuid.uuid4()
        LogPublisher(streams, build).finish("cancelled")
        said: list[str] = []
        assert relay(follow(streams, build, idle_seconds=1), said.append) is False
        assert said == [" !     Push rejected: the build was cancelled"]

    def test_a_quiet_build_keeps_the_connection_alive(self, streams: redis.Redis) -> None:
        build = uuid.uuid4()

        def later() -> None:
            time.sleep(0.8)
            LogPublisher(streams, build).finish("succeeded", "Released v1: a-web")

        writer = threading.Thread(target=later)
        writer.start()
        said: list[str] = []
        assert relay(follow(streams, build, idle_seconds=0.2), said.append) is True
        writer.join()
        assert said[0] == "-----> … still working"
        assert said[-1] == "-----> Released v1: a-web"

    def test_the_database_ends_a_build_its_stream_never_will(self, streams: redis.Redis) -> None:
        build = uuid.uuid4()  # nothing is ever written to this stream
        said: list[str] = []
        answers = iter(
            [
                LogEvent(line="-----> … waiting for a worker to take the build"),
                LogEvent(status="cancelled", detail="cancelled before it started"),
            ]
        )
        events = follow(streams, build, idle_seconds=0.1)
        assert relay(events, said.append, quiet=lambda: next(answers)) is False
        assert said == [
            "-----> … waiting for a worker to take the build",
            " !     Push rejected: cancelled before it started",
        ]


@pytest.mark.slow  # silences longer than the clients' timeouts, by design
class TestStreamTimeouts:
    """Reading a stream does not depend on the Redis client's defaults (redis-py 8: 5 s)."""

    def test_silence_longer_than_the_clients_default_timeout(self, settings: Settings) -> None:
        defaults = redis.Redis.from_url(settings.redis_url)  # socket_timeout left at 5 s
        build = uuid.uuid4()

        def later() -> None:
            time.sleep(6.5)
            LogPublisher(defaults, build).finish("succeeded", "Released v1: a-web")

        writer = threading.Thread(target=later)
        writer.start()
        try:
            events = list(follow(defaults, build, idle_seconds=20))
        finally:
            writer.join()
            defaults.close()
        assert events == [LogEvent(status="succeeded", detail="Released v1: a-web")]

    def test_the_reader_sets_its_own_timeouts(self, settings: Settings) -> None:
        client = connect(settings.redis_url)
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] > BLOCK_SECONDS
        assert kwargs["socket_connect_timeout"] is not None
        client.close()

    def test_unreachable_redis_is_silence_not_a_crash(self) -> None:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = connect(f"redis://127.0.0.1:{port}/0")
        events = follow(client, uuid.uuid4(), idle_seconds=0.2, block_seconds=0.1)
        assert [next(events), next(events)] == [None, None]
        # the worker's side: lines are lost to the pusher, the build goes on
        publisher = LogPublisher(client, uuid.uuid4())
        publisher.line("-----> Installing requirements.txt")
        publisher.finish("succeeded", "Released v1: a-web")
        client.close()


class TestDecided:
    """What the pusher is told when the stream is silent: what the database holds."""

    def _release(self, db: Session, app: App, build: Build, status: str, error: str | None) -> None:
        db.add(
            Release(
                app_id=app.id,
                version=1,
                kind="deploy",
                description="Deploy 1234567",
                build_id=build.id,
                config_encrypted=b"",
                status=status,
                error=error,
            )
        )
        db.flush()

    def test_a_failed_release_rejects_with_its_reason(self, db: Session) -> None:
        app = factories.app(name="thumbs")
        build = factories.build(app_id=app.id)
        self._release(db, app, build, "failed", "the role cannot be assumed")
        assert decided(db, app, build) == LogEvent(
            status="failed", detail="release v1 failed: the role cannot be assumed"
        )

    def test_an_abandoned_release_rejects(self, db: Session) -> None:
        app = factories.app(name="thumbs")
        build = factories.build(app_id=app.id)
        self._release(db, app, build, "abandoned", None)
        assert decided(db, app, build) == LogEvent(
            status="abandoned", detail="release v1 abandoned: the release was abandoned"
        )

    def test_a_live_release_accepts(self, db: Session) -> None:
        app = factories.app(name="thumbs")
        build = factories.build(app_id=app.id)
        self._release(db, app, build, "succeeded", None)
        assert decided(db, app, build) == LogEvent(status="succeeded", detail="Released v1")

    def test_a_release_being_applied_keeps_the_push_waiting(self, db: Session) -> None:
        app = factories.app(name="thumbs")
        build = factories.build(app_id=app.id)
        self._release(db, app, build, "applying", None)
        assert decided(db, app, build) == LogEvent(line=STILL_WORKING)

    @pytest.mark.parametrize("status", ["failed", "cancelled", "abandoned"])
    def test_a_build_that_ended_without_release(self, db: Session, status: str) -> None:
        app = factories.app(name="thumbs")
        build = factories.build(app_id=app.id, status=status, error="over Lambda's 250 MB")
        assert decided(db, app, build) == LogEvent(status=status, detail="over Lambda's 250 MB")
