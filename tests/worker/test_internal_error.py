"""An unexpected error in a build is told without the build host's paths (laambda/worker)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from laambda.db.models import App, Build
from laambda.db.session import session_scope
from laambda.logstream import follow
from laambda.services.build import build_service
from laambda.worker.build_runner import internal_error
from tests.support.platform import Platform

DATA = Path("/tmp/breaker-data")
BUILD = "/tmp/breaker-data/builds/71-cmwssz1x/build"


@pytest.mark.parametrize(
    ("exc", "told"),
    [
        (
            RuntimeError(f"Symlink loop from '{BUILD}/source/b'"),
            "internal error: Symlink loop from 'b'",
        ),
        (
            OSError(36, "File name too long", f"{BUILD}/source/lib/{'a' * 20}"),
            f"internal error: [Errno 36] File name too long: 'lib/{'a' * 20}'",
        ),
        (
            FileNotFoundError(2, "No such file or directory", f"{BUILD}/source"),
            "internal error: [Errno 2] No such file or directory: '.'",
        ),
        (
            ValueError(f"cannot read {BUILD}/artifact.zip nor /etc/laambda/x.conf"),
            "internal error: cannot read <host path> nor <host path>",
        ),
        (KeyError(), "internal error: KeyError"),
    ],
)
def test_no_host_path_is_told(exc: Exception, told: str) -> None:
    message = internal_error(exc, data_dir=DATA, reference="3f2a9c01b7de")
    assert message == (
        f"{told} (reference 3f2a9c01b7de: the operator finds the details in the worker's log)"
    )
    assert "/tmp" not in message
    assert "breaker-data" not in message


def test_relative_paths_and_urls_are_kept() -> None:
    exc = ValueError("fetching https://pypi.org/simple/x/ for lib/app.py failed")
    message = internal_error(exc, data_dir=DATA, reference="r")
    assert message.startswith(
        "internal error: fetching https://pypi.org/simple/x/ for lib/app.py failed (reference r"
    )


def test_the_worker_tells_a_reference_found_in_its_log(platform: Platform) -> None:
    """An unexpected error (here: the source vanished from the store) ends the build as failed
    with one message for the pusher, the build page and `done`, the traceback in the log."""
    app = platform.create_app("oops")
    with session_scope(platform.sessions) as session:
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit="a" * 40,
            source_key="sources/oops/vanished.tar.gz",
            queue=platform.worker.queue,
        )
        build_id, uid = build.id, build.uid
    events = [e for e in follow(platform.streams, uid, idle_seconds=2) if e is not None]
    outcome = events[-1]
    assert outcome.status == "failed"
    found = re.fullmatch(
        r"internal error: s3://\S+/sources/oops/vanished\.tar\.gz does not exist "
        r"\(reference (\w{12}): the operator finds the details in the worker's log\)",
        outcome.detail,
    )
    assert found is not None, outcome.detail
    with session_scope(platform.sessions) as session:
        row = session.get_one(Build, build_id)
        assert (row.status, row.error) == ("failed", outcome.detail)
        assert row.log.splitlines()[-1] == f" !     {outcome.detail}"
    deadline = time.monotonic() + 10
    while f"internal error {found[1]}" not in platform.worker.tail(400):
        assert time.monotonic() < deadline, platform.worker.tail(40)
        time.sleep(0.2)
