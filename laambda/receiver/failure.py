"""What a pusher is told when taking a push fails unexpectedly, and where the details go.

The hook's standard output and error both reach the pusher (`remote: …`), so a traceback
there would show them SQL, paths and library internals. Instead the traceback is appended,
under a short reference, to the operator's receiver log: `<data_dir>/logs/receiver.log`
(LAAMBDA_DATA_DIR), and the pusher gets one line naming that reference.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

LOG_NAME = "receiver.log"
_log = logging.getLogger("laambda.receiver.failures")
_log.propagate = False  # never the root logger's handlers, whose stderr reaches the pusher


def log_path(data_dir: Path) -> Path:
    """The file unexpected push failures are written to."""
    return data_dir / "logs" / LOG_NAME


def unexpected(data_dir: Path | None, what: str) -> str:
    """Record the exception being handled (call inside `except`) with a new reference and
    return the line for the pusher, which holds no exception text: "laambda failed to take
    the push; the operator's receiver log has the details (ref 1a2b3c4d5e6f)". `what` names
    the push ("push to pipeline shop") in the log. With no data directory (settings could
    not be read) the details are dropped rather than shown."""
    ref = uuid.uuid4().hex[:12]
    if data_dir is not None:
        try:
            path = log_path(data_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            handler = None
        if handler is not None:
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
            _log.addHandler(handler)
            try:
                _log.error("ref %s: %s failed", ref, what, exc_info=True)
            finally:
                _log.removeHandler(handler)
                handler.close()
    return (
        f"laambda failed to take the push; the operator's receiver log has the details (ref {ref})"
    )
