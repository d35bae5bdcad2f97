"""The worker's tests push work to the live worker the way the receiver does
(tests/support/platform.py); some run functions with the local runtime, some kill workers
of their own (tests/support/crash.py)."""

from tests.support.crash import crash_platform, crash_worker
from tests.support.platform import platform

__all__ = ["crash_platform", "crash_worker", "platform"]
