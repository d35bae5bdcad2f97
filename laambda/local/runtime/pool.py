"""The local runtime: unpacks each artifact once per CodeSha256 and keeps warm execution
environments per function version, starting a new one when all are busy (Lambda's scaling)
and stopping those idle for longer than `idle_seconds`.

Usage: `LocalRuntime(cache_dir).invoke(spec, payload) -> Outcome`; `close()` stops every process.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from laambda.local.runtime import sandbox
from laambda.local.runtime.environment import Environment
from laambda.local.runtime.interpreters import launch
from laambda.local.runtime.spec import LocalFunction, Outcome

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


class LocalRuntime:
    def __init__(
        self,
        cache: Path,
        *,
        idle_seconds: float = 900,
        max_environments: int = 64,
    ):
        """Functions run in a sandbox showing them only their code and runtime when
        bubblewrap can run here (sandbox.py)."""
        self.cache = cache
        self.idle_seconds = idle_seconds
        self.max_environments = max_environments
        self._lock = threading.Lock()
        self._idle: dict[tuple[object, ...], list[Environment]] = {}
        self._busy: set[Environment] = set()
        self._unpacking: dict[str, threading.Lock] = {}

    def invoke(self, spec: LocalFunction, payload: bytes) -> Outcome:
        """Run one invocation of `spec` (its code fetched and unpacked on first use).

        Raises RuntimeUnavailable when the machine cannot run the function's runtime."""
        environment = self._acquire(spec)
        try:
            return environment.invoke(payload)
        finally:
            self._release(environment)

    def busy(self, spec: LocalFunction) -> int:
        """How many invocations of the function, any version, run now: reserved concurrency is
        the function's, shared by its versions and aliases ("Configuring reserved concurrency",
        AWS Lambda Developer Guide)."""
        with self._lock:
            return sum(1 for env in self._busy if env.spec.name == spec.name)

    def code_dir(self, spec: LocalFunction) -> Path:
        """The function's code unpacked (once per CodeSha256; shared by all its versions)."""
        target = self.cache / "code" / spec.code_sha256
        if target.exists():
            return target
        with self._lock:
            lock = self._unpacking.setdefault(spec.code_sha256, threading.Lock())
        with lock:
            if not target.exists():
                staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
                shutil.rmtree(staging, ignore_errors=True)
                _unzip(spec.code(), staging)
                staging.rename(target)
        return target

    def _acquire(self, spec: LocalFunction) -> Environment:
        key = spec.key()
        stale: list[Environment] = []
        with self._lock:
            now = time.monotonic()
            for environments in self._idle.values():
                for env in list(environments):
                    if not env.alive or now - env.last_used > self.idle_seconds:
                        environments.remove(env)
                        stale.append(env)
            pool = self._idle.get(key, [])
            chosen = pool.pop() if pool else None
            if chosen is not None:
                self._busy.add(chosen)
            elif self._count() >= self.max_environments:
                stale.extend(self._evict_oldest())
        for env in stale:
            env.close()
        if chosen is not None:
            return chosen
        task = self.code_dir(spec)
        boxed = sandbox.available() is not None
        started = launch(spec.runtime, spec.handler, task, self.cache, boxed=boxed)
        command, socket = started.command, None
        if boxed:
            # a short path: a unix socket's is limited to 107 bytes
            socket = Path(tempfile.mkdtemp(prefix="laambda-fn-")) / "runtime.sock"
            command = sandbox.wrap(
                command,
                mounts=[(task, sandbox.TASK_ROOT), *started.mounts],
                roots=started.roots,
                socket=socket,
                relay=list(started.relay),
            )
        seen = (sandbox.TASK_ROOT, sandbox.RUNTIME_DIR) if boxed else (str(task), str(task))
        variables = _variables(spec, *seen, started.environment)
        env = Environment(spec, command, variables, task, socket)
        with self._lock:
            self._busy.add(env)
        return env

    def _count(self) -> int:
        return len(self._busy) + sum(len(envs) for envs in self._idle.values())

    def _evict_oldest(self) -> list[Environment]:
        idle = [env for envs in self._idle.values() for env in envs]
        if not idle:
            return []
        oldest = min(idle, key=lambda env: env.last_used)
        self._idle[oldest.spec.key()].remove(oldest)
        return [oldest]

    def _release(self, env: Environment) -> None:
        with self._lock:
            self._busy.discard(env)
            if env.alive:
                self._idle.setdefault(env.spec.key(), []).append(env)
                return
        env.close()

    def close(self) -> None:
        """Stop every environment (their processes are killed)."""
        with self._lock:
            environments = [env for envs in self._idle.values() for env in envs]
            environments += list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for env in environments:
            env.close()


def _variables(
    spec: LocalFunction, task: str, runtime_dir: str, runtime: dict[str, str]
) -> dict[str, str]:
    """The function's environment: its own variables, then those Lambda reserves (which win,
    as Lambda refuses to let a function set them). Nothing of the platform's own environment
    leaks in. Source: "Defined runtime environment variables", AWS Lambda Developer Guide."""
    variables = dict(spec.environment)
    variables.update(
        {
            "PATH": BASE_PATH,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "LAMBDA_TASK_ROOT": task,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
        }
    )
    variables.update(runtime)
    return variables


def _unzip(data: bytes, target: Path) -> None:
    """Extract a zip keeping its files' permission bits (zipfile drops them; Lambda keeps
    them). zipfile refuses absolute paths and `..` itself."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode | stat.S_IRUSR)
