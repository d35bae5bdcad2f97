"""The pre-receive step of a push: the pushed commit is built, released and applied, and the
pusher watches it happen. Its answer accepts the push (the ref moves) or rejects it.

Pushes to one app wait for each other in the receiver, before git shows them the refs; the
build runs on a worker, on any host, and its lines come back through Redis.

One source of truth: the database. The stream carries the build's lines and, at its end, the
outcome the worker recorded; whenever it is quiet for `keepalive` seconds the pusher hears a
progress line and the database is asked how the build and its release ended, so a lost or
expired stream, or Redis going away, cannot leave the pusher waiting or told something else.
A quiet build keeps the push waiting however long it lasts.

A pusher who disconnects does not stop the build: the worker finishes and records it, git
still moves the branch if it was released, and if the receiver itself died the branch is
moved to the live release's commit on the next push or fetch (laambda/receiver/branch.py).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.base import utcnow
from laambda.db.models import Build, User
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.deploy import aws
from laambda.domain.release import unchanged_message
from laambda.errors import LaambdaError
from laambda.logstream import LogEvent, connect, follow
from laambda.objectstore import ObjectStore
from laambda.receiver.branch import DEPLOY_BRANCHES, keep_objects, live_commit, replaces
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.outcome import STILL_WORKING, decided, relay
from laambda.services.release import release_service
from laambda.trace import mark
from laambda.worker.enqueue import CeleryQueue

# how a build ended, shared with `laambda deploy` (laambda/services/outcome.py)
__all__ = ["STILL_WORKING", "Push", "RefUpdate", "decided", "parse_updates", "refusal", "relay"]

# the worker is quiet at most this long before the pusher hears a progress line
KEEPALIVE_SECONDS = 15.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    """pre-receive's standard input: `<old> <new> <ref>` per line."""
    return [RefUpdate(*line.split()) for line in lines if line.strip()]


def refusal(update: RefUpdate) -> str | None:
    """Why a ref update is refused, or None when it deploys."""
    if not update.ref.startswith("refs/heads/"):
        return f"'{update.ref}' is not a branch: laambda deploys the main branch only"
    if update.ref not in DEPLOY_BRANCHES:
        branch = update.ref.removeprefix("refs/heads/")
        return (
            f"pushed to '{branch}': laambda deploys the main branch; "
            f"push with `git push laambda {branch}:main`"
        )
    if update.new.strip("0") == "":
        return "deleting the deploy branch is not allowed"
    return None


class Push:
    def __init__(
        self,
        settings: Settings,
        *,
        app: str,
        user_id: int,
        say: Say,
        keepalive: float = KEEPALIVE_SECONDS,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        store: ObjectStore | None = None,
    ) -> None:
        """`cwd` and `env`: the repository and git's environment of the push (its
        quarantine); None: this process's, as when git runs the hook. `store`: the object
        store to upload to, made from settings when None."""
        self.settings = settings
        self.cwd = cwd
        self.env = env
        self.store = store
        self.keepalive = keepalive
        self.app = app
        self.user_id = user_id
        self.say = say
        self.sessions = make_sessionmaker(get_engine(settings.database_url))

    def run(self, updates: list[RefUpdate]) -> bool:
        """Build and release the pushed commit; True accepts the push."""
        for update in updates:
            if (reason := refusal(update)) is not None:
                self.say(f" !     Push rejected: {reason}")
                return False
        if len(updates) != 1:
            self.say(" !     Push rejected: push main or master, not both at once")
            return False
        return self.deploy(updates[0].new, base=updates[0].old)

    def deploy(self, commit: str, *, base: str) -> bool:
        """Build and release `commit` of the repository git runs this hook in, pushed over
        the branch at `base`; True when it was released (or built the same artifact as the
        live release). Refused when it would replace a live commit it does not contain
        (branch.replaces). Call with the app's push lock held."""
        if (stale := self._replaces_live(commit, base)) is not None:
            self.say(f" !     Push rejected: {stale}")
            return False
        # so the branch can follow a release this push does not live to see
        keep_objects(None if self.env is None else dict(self.env))
        if (unchanged := self._identical(commit)) is not None:
            self.say(f"-----> {unchanged}")
            return True
        self.say(f"-----> Building {self.app} at {commit[:7]}")
        key = f"sources/{self.app}/{commit}.tar.gz"
        store = self.store or ObjectStore(
            aws.s3_client(self.settings), self.settings.artifact_bucket
        )
        store.ensure_bucket()
        with tempfile.TemporaryDirectory() as work:
            tarball = Path(work) / "source.tar.gz"
            subprocess.run(
                ["git", "archive", "--format=tar.gz", "-o", str(tarball), commit],
                check=True,
                cwd=self.cwd,
                env=self.env,
            )
            store.put_file(key, tarball)
        mark("push.uploaded")
        with session_scope(self.sessions) as session:
            user = session.get_one(User, self.user_id)
            app = app_service.get_for(session, user, self.app)
            app.last_deployed_at = utcnow()  # a review app's TTL counts from here
            build = build_service.create(
                session,
                app,
                user=user,
                commit=commit,
                source_key=key,
                queue=CeleryQueue(self.settings),
            )
            build_id, uid = build.id, build.uid
        mark("push.queued", build_id)
        # a pusher who hangs up (or whose connection drops) can still find the build
        self.say(f"-----> Build {build_id} queued (laambda builds:info {build_id} -a {self.app})")
        streams = connect(self.settings.redis_url)
        try:
            events = follow(streams, uid, idle_seconds=self.keepalive)
            released = relay(events, self.say, quiet=lambda: self._while_quiet(build_id))
            mark("push.done", build_id)
            return released
        finally:
            streams.close()

    def _replaces_live(self, commit: str, base: str) -> str | None:
        """Why pushing `commit` over `base` would undo the live release, or None."""
        with session_scope(self.sessions) as session:
            app = app_service.get_for(session, session.get_one(User, self.user_id), self.app)
            live = live_commit(session, app)
        if live is None or not replaces(live, base, commit, cwd=self.cwd, env=self.env):
            return None
        seen = "had no commit" if base.strip("0") == "" else f"was at {base[:7]}"
        return (
            f"{self.app} runs {live[:7]}, made live after this branch {seen} (a push to "
            f"its other remote, a promotion or `laambda deploy`), and {commit[:7]} "
            f"does not contain it: pushing would undo it. Fetch first (`git fetch`), merge or "
            f"rebase onto {live[:7]}, and push again"
        )

    def _identical(self, commit: str) -> str | None:
        """When `commit` has the tree of the live release's commit (an empty commit, or one
        that restores that tree) and nothing else changed since that release (config,
        function settings: release_service.unchanged), the push is recorded as a build that
        changed nothing, with no build run and no release made, and the line saying so is
        returned; otherwise None and the push builds. The same tree builds the same artifact,
        so this is what the worker would conclude, without the build."""
        with session_scope(self.sessions) as session:
            user = session.get_one(User, self.user_id)
            # locked as the worker locks it to decide: no release meanwhile
            app = app_service.get_for(session, user, self.app, lock=True)
            running = release_service.current_build(session, app)
            shown = live_commit(session, app)
            if running is None or running.artifact_sha256 is None or shown is None:
                return None
            if not self._same_tree(commit, shown):
                return None
            candidate = Build(
                artifact_sha256=running.artifact_sha256,
                runtime=running.runtime,
                architecture=running.architecture,
                procfile=running.procfile,
            )
            live = release_service.unchanged(
                session, app, candidate, Cipher(self.settings.secret_key)
            )
            if live is None:
                return None
            line = (
                f"{commit[:7]} has the tree of {shown[:7]}, which v{live.version} runs: "
                f"no build, no release ({unchanged_message(live.version)})"
            )
            build_service.record_unchanged(
                session, app, user=user, commit=commit, running=running, log=[f"-----> {line}"]
            )
            return line

    def _same_tree(self, commit: str, other: str) -> bool:
        """Whether two commits of the repository have the same tree; False when one of them
        is not there (a repository restored without the live commit builds as usual)."""
        trees = subprocess.run(
            ["git", "rev-parse", f"{commit}^{{tree}}", f"{other}^{{tree}}"],
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env=self.env,
        )
        lines = trees.stdout.split()
        return trees.returncode == 0 and len(lines) == 2 and lines[0] == lines[1]

    def _while_quiet(self, build_id: int) -> LogEvent:
        """What the pusher hears while the build's stream is silent. The database has the last
        word: a build that ended (cancelled before any worker took it, failed, or released,
        with its stream lost) ends the push here, with the reason the database holds."""
        try:
            with session_scope(self.sessions) as session:
                user = session.get_one(User, self.user_id)
                app = app_service.get_for(session, user, self.app)
                return decided(session, app, build_service.get(session, app, build_id))
        except (SQLAlchemyError, LaambdaError):
            return LogEvent(line=STILL_WORKING)  # a keep-alive line must not end the push
