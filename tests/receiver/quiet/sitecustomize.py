"""Test-only: a worker started with this folder on PYTHONPATH and LAAMBDA_TEST_QUIET_SECONDS
set is silent for that many seconds at the start of every build, then builds as usual.

It stands for a build that prints nothing for a long time (a cold install of a large
package); everything else (worker, Redis stream, receiver, git) is the real thing. The
variable is taken out of the environment, so the build's own subprocesses are unaffected.
"""

import os
import time

_QUIET = os.environ.pop("LAAMBDA_TEST_QUIET_SECONDS", None)

if _QUIET is not None:
    from typing import Any

    from laambda.building import pipeline

    _build_source = pipeline.build_source
    _seconds = float(_QUIET)

    def _quiet_build_source(*args: Any, **kwargs: Any) -> Any:
        time.sleep(_seconds)
        return _build_source(*args, **kwargs)

    setattr(pipeline, "build_source", _quiet_build_source)  # noqa: B010 (a function's name)
