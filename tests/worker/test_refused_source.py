"""A source tarball the build refuses as such is removed from the object store; others stay."""

from __future__ import annotations

import time

from tests.support.platform import Platform, python_app


def _gone(platform: Platform, key: str, timeout: float = 15) -> bool:
    """Whether the object is deleted within `timeout` (the worker does so after the outcome)."""
    deadline = time.monotonic() + timeout
    while platform.store.exists(key):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_refused_tarball_is_removed_and_a_failed_build_keeps_its_source(
    platform: Platform,
) -> None:
    app = platform.create_app("refused")
    escaping = {**python_app(["web"]), "../escape.py": "x = 1\n"}
    pushed = platform.push(app, escaping, commit="e" * 40)
    assert pushed.outcome.status == "failed"
    assert "the source archive holds a path with '..': '../escape.py'" in pushed.outcome.detail
    assert _gone(platform, f"sources/refused/{'e' * 40}.tar.gz")

    bad_procfile = {**python_app(["web"]), "Procfile": "web web_mod.handler\n"}
    failed = platform.push(app, bad_procfile, commit="f" * 40)
    assert failed.outcome.status == "failed"
    assert not _gone(platform, f"sources/refused/{'f' * 40}.tar.gz", timeout=2)
