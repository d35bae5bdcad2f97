"""The build log as server-sent events, against the real Redis stream the worker writes to."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from laambda.api.buildstream import Watched, live, replay
from laambda.config import Settings
from laambda.logstream import LogEvent, LogPublisher


@pytest.fixture
def streams(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


def _watched() -> Watched:
    return Watched(app="thumbs", build_id=1, uid=uuid.uuid4(), user_id=1)


class TestLive:
    def test_lines_keep_alives_and_the_outcome(self, streams: redis.Redis) -> None:
        watched = _watched()
        log = LogPublisher(streams, watched.uid)
        log.line("-----> Python app detected")

        def later() -> None:
            time.sleep(0.6)
            log.line("line with\na newline")
            log.finish("succeeded", "Released v3: thumbs-web")

        writer = threading.Thread(target=later)
        writer.start()
        asked: list[int] = []

        def quiet() -> LogEvent:
            asked.append(1)
            return LogEvent(line="-----> … still working")

        events = list(live(streams, watched, quiet, keepalive=0.2))
        writer.join()
        assert events[0] == 'event: line\ndata: "-----> Python app detected"\n\n'
        assert ": keep-alive\n\n" in events
        assert 'event: progress\ndata: "-----> \\u2026 still working"\n\n' in events
        assert events[-2] == 'event: line\ndata: "line with\\na newline"\n\n'
        assert events[-1] == (
            'event: done\ndata: {"status": "succeeded", "detail": "Released v3: thumbs-web"}\n\n'
        )
        assert asked

    def test_the_database_ends_a_stream_that_never_finishes(self, streams: redis.Redis) -> None:
        """A lost stream (Redis flushed, worker gone) ends with what the database says."""
        outcome = LogEvent(status="failed", detail="its worker died during the build")
        events = list(live(streams, _watched(), lambda: outcome, keepalive=0.1))
        assert events == [
            ": keep-alive\n\n",
            "event: done\ndata: "
            + json.dumps({"status": "failed", "detail": "its worker died during the build"})
            + "\n\n",
        ]


class TestReplay:
    def test_the_workers_last_line_is_the_outcome(self) -> None:
        log = "-----> Building\n !     no Procfile found at the root of the repository\n"
        outcome = LogEvent(
            status="failed", detail="no Procfile found at the root of the repository"
        )
        assert list(replay(log, outcome)) == [
            'event: line\ndata: "-----> Building"\n\n',
            "event: done\ndata: "
            + json.dumps(
                {"status": "failed", "detail": "no Procfile found at the root of the repository"}
            )
            + "\n\n",
        ]

    def test_a_build_cancelled_before_it_started_has_no_log(self) -> None:
        outcome = LogEvent(status="cancelled", detail="cancelled before it started")
        assert list(replay("", outcome)) == [
            "event: done\ndata: "
            + json.dumps({"status": "cancelled", "detail": "cancelled before it started"})
            + "\n\n"
        ]
