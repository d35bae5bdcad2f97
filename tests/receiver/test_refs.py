"""The pre-receive step's rules: which ref updates deploy, and how the build's stream is shown."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from laambda.config import Settings
from laambda.worker.logstream import LogEvent, LogPublisher, follow
from receiver.push import Push, RefUpdate, refusal, relay

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
