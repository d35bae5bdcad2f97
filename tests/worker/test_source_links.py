"""A pushed tree whose links loop builds without them, each dropped with a line (it was
"internal error: Symlink loop from '/data/builds/…'")."""

from __future__ import annotations

import io
import tarfile

from laambda.db.models import App
from laambda.db.session import session_scope
from laambda.logstream import follow
from laambda.services.build import build_service
from tests.support.archives import tarball
from tests.support.platform import Platform, python_app


def _with_links(files: dict[str, str], links: dict[str, str]) -> bytes:
    """`tarball(files)` with symlinks added, as `git archive` writes them."""
    source = tarfile.open(fileobj=io.BytesIO(tarball(files)), mode="r:gz")
    buffer = io.BytesIO()
    with source, tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in source:
            archive.addfile(member, source.extractfile(member))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def test_a_push_with_a_symlink_loop_is_released_without_it(platform: Platform) -> None:
    app = platform.create_app("loops")
    key = f"sources/loops/{'c' * 40}.tar.gz"
    platform.store.put_bytes(key, _with_links(python_app(["web"]), {"a": "b", "b": "a"}))
    with session_scope(platform.sessions) as session:
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit="c" * 40,
            source_key=key,
            queue=platform.worker.queue,
        )
        uid = build.uid
    events = [e for e in follow(platform.streams, uid, idle_seconds=2) if e is not None]
    lines = [e.line for e in events if e.line is not None]
    assert events[-1].status == "succeeded", lines
    assert events[-1].detail == "Released v1: loops-web"
    for name, target in (("a", "b"), ("b", "a")):
        assert (
            f"       dropped symlink {name} -> {target}: it loops: the links lead into one "
            "another, so it points at nothing"
        ) in lines
    assert not [line for line in lines if "/builds/" in line or "internal error" in line]
