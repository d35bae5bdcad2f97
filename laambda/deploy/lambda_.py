"""The deploy engine: turns a release into Lambda functions, versions and `live` aliases.

It knows nothing of the database: the worker hands it specs and recorded versions and
records what it returns. A release goes live in two phases so that nothing is ever
half-live (DESIGN.md): first every function gets a published version (nothing that runs
changes), then every `live` alias moves; if one move fails, the moved ones move back.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from laambda.deploy import aliases, prune, removal
from laambda.deploy.calls import Backoff, LambdaCalls, RateLimiter, error_message
from laambda.deploy.functions import (
    Code,
    FunctionSpec,
    Prepared,
    never_live,
    pin,
    prepare,
)
from laambda.deploy.pool import run_all
from laambda.domain.function import RELEASE_ENTRY, function_name
from laambda.errors import DeployFailed

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

    from laambda.objectstore import ObjectStore

Gate = Callable[[list[Prepared]], None]

__all__ = ["DeployOutcome", "Deployer", "FunctionSpec", "artifact_key"]


def artifact_key(sha256: str) -> str:
    """Content-addressed: a key never holds other bytes, so a rollback finds its code."""
    return f"artifacts/{sha256}.zip"


@dataclass(frozen=True)
class DeployOutcome:
    """What a release left in AWS: the version `live` now points at, per function name."""

    versions: dict[str, str]
    bytes_uploaded: int = 0
    code_updates: int = 0
    config_updates: int = 0
    aliases_moved: int = 0
    created: tuple[str, ...] = ()  # live for the first time
    redeployed: tuple[str, ...] = ()  # rollback targets whose version was gone
    removed: tuple[str, ...] = ()
    not_removed: tuple[str, ...] = ()  # stale functions AWS refused to delete (logged)
    held: dict[str, str] = field(default_factory=dict)  # published, never aliased (release)
    # a canary's: the functions whose `live` shares traffic, with the version it stays on
    split: dict[str, str] = field(default_factory=dict)


class Deployer:
    """Applies releases to Lambda; safe to run again after a worker died mid-way.

    Calls are retried on throttling and on updates in progress; any other AWS error
    becomes DeployFailed carrying AWS's message, with every alias where it was.
    """

    def __init__(
        self,
        client: LambdaClient,
        store: ObjectStore,
        *,
        concurrency: int,
        log: Callable[[str], None],
        backoff: Backoff | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        """`limiter`: the process's share of Lambda's quota for this client's region,
        shared by every deployer of the process (calls.RateLimiter)."""
        self.calls = LambdaCalls(client, backoff=backoff, limiter=limiter)
        self.store = store
        self.concurrency = concurrency
        self._log = log
        self._log_lock = threading.Lock()

    def log(self, line: str) -> None:
        with self._log_lock:  # lines come from the pool's threads
            self._log(line)

    def deploy(
        self,
        app: str,
        specs: list[FunctionSpec],
        *,
        artifact: Path | None,
        sha256: str,
        description: str,
        previous: Collection[str] | None = None,
        hold: Collection[str] = (),
        before_live: Gate | None = None,
        canary: float | None = None,
    ) -> DeployOutcome:
        """Make `specs` live from the artifact `sha256`.

        `artifact` is the local zip, uploaded unless S3 has it already; None for config and
        resource releases, whose artifact is in S3 since their build. `previous` names the
        functions of the release that was live, deleted when not in `specs`; None finds them
        by their `laambda:app` tag. `hold` names specs (entry names) that get a published
        version and never a `live` alias (the release phase); `before_live` is called with
        every prepared function before any alias moves, and stops the release by raising.
        `canary` (a weight, 0..1): `live` of functions that were live only shares that much
        traffic with the new versions (DeployOutcome.split), and no stale function is
        removed yet: a canary that fails needs them.
        """
        uploaded = self._upload(artifact, sha256) if artifact is not None else 0
        outcome = self._release(
            app,
            specs,
            {},
            sha256,
            description,
            previous,
            stored=artifact is not None,
            hold=hold,
            before_live=before_live,
            canary=canary,
        )
        return replace(outcome, bytes_uploaded=uploaded)

    def rollback(
        self,
        app: str,
        specs: list[FunctionSpec],
        *,
        targets: Mapping[str, str],
        sha256: str,
        description: str,
        previous: Collection[str] | None = None,
        hold: Collection[str] = (),
        before_live: Gate | None = None,
    ) -> DeployOutcome:
        """Move `live` back to the recorded versions `targets` (function name -> version).

        Functions whose recorded version is gone (pruned, or the function deleted) are
        deployed again from the artifact `sha256`, within the same all-or-nothing move.
        `hold` and `before_live` as for deploy.

        Every target is verified (one GetFunction each: CodeSha256 and settings) before any
        alias moves; where each `live` points now (for the move back on failure) is read by
        its move, just before it, so those reads overlap the moves that the shared quota
        paces (aliases.move_all).
        """
        return self._release(
            app, specs, targets, sha256, description, previous, hold=hold, before_live=before_live
        )

    def _release(
        self,
        app: str,
        specs: list[FunctionSpec],
        targets: Mapping[str, str],
        sha256: str,
        description: str,
        previous: Collection[str] | None,
        *,
        stored: bool = False,
        hold: Collection[str] = (),
        before_live: Gate | None = None,
        canary: float | None = None,
    ) -> DeployOutcome:
        if not specs:
            # deleting every function of the app is never what a release means
            raise DeployFailed(f"{app} has no Procfile entries to deploy")
        by_name = {function_name(app, spec.name): spec for spec in specs}
        if len(by_name) != len(specs):
            raise DeployFailed(f"two Procfile entries of {app} make the same function name")
        code = Code(self.store.bucket, artifact_key(sha256), sha256)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            wanted = [
                (name, targets[name], by_name[name], code) for name in by_name if name in targets
            ]
            found = run_all(pool, self._pin, wanted, context=lambda target: target[0])
            pinned = [item for item in found if item is not None]
            pinned_names = {item.name for item in pinned}
            todo = [spec for name, spec in by_name.items() if name not in pinned_names]
            prepared = self._prepare(pool, app, todo, sha256, description, stored=stored)
            held_names = {function_name(app, entry) for entry in hold}
            ready = pinned + prepared
            if before_live is not None:
                self._check(pool, ready, before_live)
            live = [item for item in ready if item.name not in held_names]
            moved = self._go_live(pool, live, canary)
            removed, not_removed = (
                self._remove_stale(pool, app, set(by_name), previous)
                if canary is None
                else ([], [])
            )
        return DeployOutcome(
            versions={item.name: item.version for item in sorted(live, key=lambda i: i.name)},
            code_updates=sum(item.code_updated for item in prepared),
            config_updates=sum(item.config_updated for item in prepared),
            aliases_moved=moved,
            created=tuple(
                sorted(i.name for i in prepared if i.live is None and i.name not in held_names)
            ),
            redeployed=tuple(sorted(set(targets) & {item.name for item in prepared})),
            removed=tuple(removed),
            not_removed=tuple(not_removed),
            held={item.name: item.version for item in ready if item.name in held_names},
            split={
                item.name: item.live
                for item in live
                if canary is not None and item.live is not None and item.live != item.version
            },
        )

    def _upload(self, artifact: Path, sha256: str) -> int:
        key = artifact_key(sha256)
        with artifact.open("rb") as file:
            actual = hashlib.file_digest(file, "sha256").hexdigest()
        if actual != sha256:
            # a key holds the bytes its name says, or a rollback could find other code there
            raise DeployFailed(f"{artifact.name} has sha256 {actual}, not {sha256}")
        try:
            sent = self.store.put_file(key, artifact)
        except ClientError as exc:
            raise DeployFailed(f"uploading the artifact failed: {error_message(exc)}") from None
        except S3UploadFailedError as exc:  # what boto3's transfer manager raises instead
            raise DeployFailed(f"uploading the artifact failed: {exc}") from None
        if not sent:
            self.log(f"Artifact sha256:{sha256[:12]} is already in the object store")
            return 0
        size = artifact.stat().st_size
        self.log(f"Uploaded artifact sha256:{sha256[:12]} ({size / 1e6:.1f} MB)")
        return size

    def _stored(self, key: str) -> bool:
        try:
            return self.store.exists(key)
        except ClientError as exc:
            raise DeployFailed(f"looking for the artifact failed: {error_message(exc)}") from None

    def _pin(self, target: tuple[str, str, FunctionSpec, Code]) -> Prepared | None:
        """The recorded version, verified; None (logged) when it must be deployed again."""
        name, version, spec, code = target
        found = pin(self.calls, name, version, spec, code)
        if isinstance(found, str):
            self.log(f"{name}: version {version} is not the release's ({found}); deploying again")
            return None
        return found

    def _prepare(
        self,
        pool: ThreadPoolExecutor,
        app: str,
        specs: list[FunctionSpec],
        sha256: str,
        description: str,
        *,
        stored: bool,
    ) -> list[Prepared]:
        """Phase one: every function gets a published version; nothing live changes."""
        if not specs:
            return []
        key = artifact_key(sha256)
        if not stored and not self._stored(key):
            raise DeployFailed(f"artifact sha256:{sha256} is not in the object store ({key})")
        code = Code(self.store.bucket, key, sha256)
        names = [function_name(app, spec.name) for spec in specs]
        self.log(f"-----> Deploying {_deploying(app, specs)}")

        def one(spec: FunctionSpec) -> Prepared:
            item = prepare(self.calls, app, spec, code, description=description)
            self.log(f"{item.name}: version {item.version}{item.summary()}")
            return item

        try:
            return run_all(pool, one, specs, context=lambda spec: function_name(app, spec.name))
        except DeployFailed:
            # functions that were never live go again: no release refers to them
            self._remove(pool, [name for name in names if self._never_live(name, app)])
            raise

    def _never_live(self, name: str, app: str) -> bool:
        try:
            return never_live(self.calls, name, app)
        except ClientError:  # cleaning up must not hide why the deploy failed
            return False

    def _check(self, pool: ThreadPoolExecutor, ready: list[Prepared], gate: Gate) -> None:
        """Between the phases: the new versions must pass `gate`, or nothing moves."""
        try:
            gate(ready)
        except Exception:
            # functions that were never live go again, as when a move fails
            self._remove(pool, _never_live(ready))
            raise

    def _go_live(
        self, pool: ThreadPoolExecutor, ready: list[Prepared], canary: float | None = None
    ) -> int:
        """Phase two: every `live` moves (or shares traffic, `canary`), or none does."""
        try:
            return aliases.move_all(self.calls, pool, ready, log=self.log, canary=canary)
        except Exception:
            # moved back; functions that were never live are deleted with their versions
            self._remove(pool, _never_live(ready))
            raise

    def _remove_stale(
        self,
        pool: ThreadPoolExecutor,
        app: str,
        names: set[str],
        previous: Collection[str] | None,
    ) -> tuple[list[str], list[str]]:
        """Phase three: delete functions the release no longer has. The release is live by
        now, so a failure here is logged, never raised: the next release tries again."""
        try:
            if previous is not None:
                stale = removal.owned(self.calls, app, sorted(set(previous) - names))
            else:
                stale = sorted(self.functions_of(app, candidates=lambda name: name not in names))
        except ClientError as exc:
            self.log(f"Finding functions no longer in the Procfile failed: {error_message(exc)}")
            return [], []
        return self._remove(pool, stale)

    def functions_of(
        self, app: str, *, candidates: Callable[[str], bool] | None = None
    ) -> set[str]:
        """The app's functions in AWS, told from other apps' by their `laambda:app` tag."""
        return removal.app_functions(self.calls, app, candidates=candidates)

    def remove_functions(self, names: Iterable[str]) -> list[str]:
        """Delete whole functions (every version and alias); returns those deleted."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            removed, failed = self._remove(pool, sorted(set(names)))
        if failed:
            raise DeployFailed(f"could not delete {', '.join(failed)}")
        return removed

    def prune_versions(
        self, name: str, keep: Collection[str], *, stop: Callable[[], bool] = prune.never
    ) -> list[str]:
        """Delete the versions of one function that no retained release refers to; between
        steps, `stop()` True ends it (deploy/prune.py)."""
        try:
            deleted = prune.prune_versions(self.calls, name, keep, stop=stop)
        except ClientError as exc:
            raise DeployFailed(f"{name}: {error_message(exc)}") from None
        if deleted:
            self.log(f"{name}: pruned {len(deleted)} old versions")
        return deleted

    def prune(
        self,
        keep: Mapping[str, Collection[str]],
        *,
        stop: Callable[[], bool] = prune.never,
        concurrency: int | None = None,
    ) -> dict[str, list[str]]:
        """prune_versions for many functions (function name -> versions to keep), in parallel
        (`concurrency` threads, the deployer's when None); function name -> versions
        deleted. `stop()` True ends it between two steps."""
        with ThreadPoolExecutor(max_workers=concurrency or self.concurrency) as pool:
            results = run_all(
                pool, lambda name: self.prune_versions(name, keep[name], stop=stop), keep
            )
        return dict(zip(keep, results, strict=True))

    def _remove(self, pool: ThreadPoolExecutor, names: list[str]) -> tuple[list[str], list[str]]:
        return removal.delete_all(self.calls, pool, names, log=self.log)


def _deploying(app: str, specs: list[FunctionSpec]) -> str:
    """What the deploy log says it deploys: "2 functions: thumbs-create, thumbs-resize", and
    the release phase apart, as it is not a function of the app (README, "Release phase"):
    "1 function: hello-hello, and the release phase hello-release"."""
    functions = sorted(
        function_name(app, spec.name) for spec in specs if spec.name != RELEASE_ENTRY
    )
    phase = f"the release phase {function_name(app, RELEASE_ENTRY)}"
    if not functions:
        return phase
    counted = f"{len(functions)} function{'s' if len(functions) != 1 else ''}"
    text = f"{counted}: {', '.join(functions)}"
    return f"{text}, and {phase}" if len(functions) < len(specs) else text


def _never_live(ready: list[Prepared]) -> list[str]:
    """The functions of `ready` that had no `live` alias (a rollback's verified targets
    were live in their release: never deleted, whether their `live` was read or not)."""
    return [item.name for item in ready if item.live is None and not item.unread]
