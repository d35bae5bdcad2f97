"""A source tarball the build refuses as such is removed from the object store; others stay."""

from __future__ import annotations

from tests.worker.conftest import Platform, python_app


def test_a_refused_tarball_is_removed_and_a_failed_build_keeps_its_source(
    platform: Platform,
) -> None:
    app = platform.create_app("refused")
    escaping = {**python_app(["web"]), "../escape.py": "x = 1\n"}
    pushed = platform.push(app, escaping, commit="e" * 40)
    assert pushed.outcome.status == "failed"
    assert "the source archive holds a path with '..': '../escape.py'" in pushed.text
    assert not platform.store.exists(f"sources/refused/{'e' * 40}.tar.gz")

    bad_procfile = {**python_app(["web"]), "Procfile": "web web_mod.handler\n"}
    failed = platform.push(app, bad_procfile, commit="f" * 40)
    assert failed.outcome.status == "failed"
    assert platform.store.exists(f"sources/refused/{'f' * 40}.tar.gz")
