"""`laambda run`: one function of an app run on this machine from its built artifact, without
Docker and without deploying, by the local runtime the local cloud uses.

What to run comes from the API (GET /v1/apps/{app}/run/{entry}: laambda/api/routes/run.py),
the artifact too; this module only turns that into a LocalFunction and runs it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from laambda.local.runtime.pool import LocalRuntime
from laambda.local.runtime.spec import LocalFunction, Outcome

ACCOUNT = "123456789012"


def local_function(spec: Mapping[str, Any], code: Callable[[], bytes]) -> LocalFunction:
    """The function as the API's run spec (RunSpecRead) describes it; `code` returns the
    artifact's bytes, called only when its unpacked copy is not cached yet."""
    name = str(spec["function"])
    return LocalFunction(
        name=name,
        version="$LATEST",
        arn=f"arn:aws:lambda:{spec['region']}:{ACCOUNT}:function:{name}",
        handler=str(spec["handler"]),
        runtime=str(spec["runtime"]),
        timeout=float(spec["timeout"]),
        memory_mb=int(spec["memory"]),
        region=str(spec["region"]),
        code_sha256=str(spec["artifact_sha256"]),
        code=code,
        environment=dict(spec.get("environment") or {}),
    )


def run(function: LocalFunction, payload: bytes, cache: Path) -> Outcome:
    """Invoke once in a fresh environment (sandboxed: runtime/sandbox.py, it sees only its
    code, runtime and /tmp); its process is stopped afterwards. The code is unpacked once per
    sha256 under `cache`/code. Raises RuntimeUnavailable when this machine cannot run its
    runtime."""
    runtime = LocalRuntime(cache)
    try:
        return runtime.invoke(function, payload)
    finally:
        runtime.close()
