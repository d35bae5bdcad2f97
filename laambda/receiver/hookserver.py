"""The receiver's end of the pre-receive hook: the push runs in the receiver's own process.

git runs the hook as a new process for every push; a hook that imported the platform
(SQLAlchemy models, boto3, Celery) and made its own database engine and S3 client spent most
of a push's time starting (issue 17). So the hook (laambda/receiver/hook.py) is a thin client of the
standard library: it hands its standard input, its working directory (the repository) and
git's GIT_* variables (the quarantine of the pushed objects) to this server over a Unix
socket, prints what comes back, and exits with the answer. The receiver, already running
with its engine, object store and Celery app, runs laambda/receiver/push.py for it.

Who pushes what is never taken from the hook: the receiver registers each git command it
starts under a random one-time token passed in git's environment (`expect`), and the hook
can only name that token. The socket lives in a directory only this user may enter.

Wire format, one JSON object per line: the hook sends {"token", "updates", "cwd", "env"};
the server answers {"say": line} for each line for the pusher, then {"exit": status}.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from laambda.config import Settings
from laambda.deploy import aws
from laambda.errors import LaambdaError
from laambda.objectstore import ObjectStore
from laambda.receiver.failure import unexpected
from laambda.receiver.pipeline_push import PipelinePush
from laambda.receiver.push import Push, Say, parse_updates

SOCKET_ENV = "LAAMBDA_PUSH_SOCKET"
TOKEN_ENV = "LAAMBDA_PUSH_TOKEN"


@dataclass(frozen=True)
class Expected:
    """What one git receive-pack the receiver started may push: from the receiver, never
    from the hook."""

    user_id: int
    keepalive: float
    app: str = ""
    pipeline: str = ""


class HookServer:
    """A Unix socket in a private directory; one thread per hook connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = Path(tempfile.mkdtemp(prefix="laambda-hook-"))  # mode 0700
        self.path = self.directory / "hook.sock"
        self.expected: dict[str, Expected] = {}
        self.lock = threading.Lock()
        self._store: ObjectStore | None = None
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def expect(self, push: Expected) -> dict[str, str]:
        """Register a push about to start; the environment its git (and so its hook) needs."""
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.expected[token] = push
        return {SOCKET_ENV: str(self.path), TOKEN_ENV: token}

    def forget(self, env: dict[str, str]) -> None:
        """The git command ended: its token is no good any more."""
        with self.lock:
            self.expected.pop(env.get(TOKEN_ENV, ""), None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def store(self) -> ObjectStore:
        """One S3 client for every push (boto3 clients are slow to make, safe to share)."""
        with self.lock:
            if self._store is None:
                self._store = ObjectStore(
                    aws.s3_client(self.settings), self.settings.artifact_bucket
                )
            return self._store

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._hook, args=(client,), daemon=True).start()

    def _hook(self, client: socket.socket) -> None:
        with client, client.makefile("rwb") as stream:
            alive = True

            def send(message: dict[str, object]) -> None:
                nonlocal alive
                if not alive:
                    return
                try:
                    stream.write(json.dumps(message).encode() + b"\n")
                    stream.flush()
                except OSError:
                    alive = False  # the pusher went away; the build goes on and is recorded

            def say(line: str) -> None:
                send({"say": line})

            try:
                request = json.loads(stream.readline() or b"{}")
                with self.lock:
                    push = self.expected.get(str(request.get("token", "")))
                if push is None:
                    say(" !     Push rejected: this push did not come through laambda's receiver")
                    send({"exit": 1})
                    return
                accepted = self._run(push, request, say)
            except LaambdaError as exc:
                say(f" !     Push rejected: {exc.message}")
                accepted = False
            except Exception:  # the pusher gets one line, the receiver's log the rest
                say(f" !     Push rejected: {unexpected(self.settings.data_dir, 'pre-receive')}")
                accepted = False
            send({"exit": 0 if accepted else 1})

    def _run(self, push: Expected, request: dict[str, object], say: Say) -> bool:
        cwd = Path(str(request.get("cwd", "")))
        raw_env = request.get("env")
        git_env = {
            str(k): str(v)
            for k, v in (raw_env.items() if isinstance(raw_env, dict) else [])
            if str(k).startswith("GIT_")
        }
        env = os.environ | git_env
        updates = parse_updates(str(request.get("updates", "")).splitlines())
        if push.pipeline:
            pipeline = PipelinePush(
                self.settings,
                pipeline=push.pipeline,
                user_id=push.user_id,
                say=say,
                keepalive=push.keepalive,
                cwd=cwd,
                env=env,
                store=self.store(),
            )
            return pipeline.run(updates)
        return Push(
            self.settings,
            app=push.app,
            user_id=push.user_id,
            say=say,
            keepalive=push.keepalive,
            cwd=cwd,
            env=env,
            store=self.store(),
        ).run(updates)
