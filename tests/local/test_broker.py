"""Redis for one machine with none running (laambda/local/broker.py)."""

from __future__ import annotations

import redis

from laambda.local.broker import redis_answers, start_inprocess_redis


def test_the_inprocess_redis_answers_as_redis_does() -> None:
    server, url = start_inprocess_redis()
    try:
        assert redis_answers(url)
        client = redis.Redis.from_url(url)
        client.set("laambda-test", "value")
        assert client.get("laambda-test") == b"value"
        client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not redis_answers(url)
