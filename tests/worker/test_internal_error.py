"""An unexpected error in a build is told without the build host's paths (laambda/worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from laambda.worker.builder import internal_error

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
