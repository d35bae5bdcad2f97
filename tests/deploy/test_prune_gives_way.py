"""Pruning old versions gives way to a release waiting for the app's apply lock (issue 17):
it stops between two Lambda calls, and the next pruning deletes what it left."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from laambda.db.locks import LockKind, advisory_lock, waiting
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.domain.function import function_name
from laambda.worker.rollout import GiveWay

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Spec = Callable[..., FunctionSpec]


def _key() -> int:
    """An app id no other test's lock uses."""
    return 1_000_000 + int.from_bytes(os.urandom(3), "big")


def _versions(lambda_client: LambdaClient, name: str) -> list[str]:
    found = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    return sorted((v["Version"] for v in found if v["Version"] != "$LATEST"), key=int)


def _hold_and_run(engine: Engine, key: int, work: Callable[[], Any]) -> threading.Thread:
    """Run `work` in a thread holding app `key`'s apply lock; returns once the lock is held."""
    held = threading.Event()

    def run() -> None:
        with advisory_lock(engine, LockKind.APPLY, key):
            held.set()
            work()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.wait(10)
    return thread


def test_a_waiter_is_seen_by_the_holder_unless_it_does_not_announce(engine: Engine) -> None:
    key = _key()
    assert not waiting(engine, LockKind.APPLY, key)
    for announce in (True, False):
        queued = threading.Event()
        got: list[bool] = []
        with advisory_lock(engine, LockKind.APPLY, key):

            def wait(
                announce: bool = announce, queued: threading.Event = queued, got: list[bool] = got
            ) -> None:
                with advisory_lock(
                    engine, LockKind.APPLY, key, on_wait=queued.set, poll=0.01, announce=announce
                ):
                    got.append(True)

            thread = threading.Thread(target=wait, daemon=True)
            thread.start()
            assert queued.wait(10)
            assert waiting(engine, LockKind.APPLY, key) is announce
            assert not waiting(engine, LockKind.BUILD, key)  # another kind's key
            assert not waiting(engine, LockKind.APPLY, key + 1)  # another app's
        thread.join(10)
        assert got == [True]
        assert not waiting(engine, LockKind.APPLY, key)  # the waiter got it: no longer waits


def test_pruning_gives_way_to_a_waiting_release_and_the_next_pruning_finishes(
    deployer: Deployer,
    lambda_client: LambdaClient,
    engine: Engine,
    app: str,
    spec: Spec,
    make_artifact: Callable[..., Any],
) -> None:
    for n in range(6):
        artifact = make_artifact(f"v{n}")
        deployer.deploy(
            app, [spec("web")], artifact=artifact.path, sha256=artifact.sha256, description="D"
        )
    name = function_name(app, "web")
    assert _versions(lambda_client, name) == ["1", "2", "3", "4", "5", "6"]  # 6 is live
    key = _key()
    give_way = GiveWay(engine, key, every=0)
    underway, announced = threading.Event(), threading.Event()
    asked: list[bool] = []
    order: list[str] = []
    result: list[dict[str, list[str]]] = []

    def stop() -> bool:
        # asked before each of the two reads, then before each deletion: the release asks for the
        # lock once the first version is deleted, before the second is
        if len(asked) == 3:
            underway.set()
            assert announced.wait(10)
        asked.append(give_way())
        return asked[-1]

    def prune() -> None:
        result.append(deployer.prune({name: set()}, stop=stop))
        order.append("pruning ended")

    pruner = _hold_and_run(engine, key, prune)
    assert underway.wait(30)
    with advisory_lock(engine, LockKind.APPLY, key, on_wait=announced.set, poll=0.01):
        order.append("release started")
        # the release runs while versions pruning would have deleted are still there
        assert _versions(lambda_client, name) == ["2", "3", "4", "5", "6"]
    pruner.join(10)
    assert order == ["pruning ended", "release started"]
    assert asked == [False, False, False, True]  # stopped at its first look after the release
    assert result == [{name: ["1"]}]
    assert give_way.stopped

    # the next pruning (no one waiting) deletes what the one that gave way left
    later = GiveWay(engine, key, every=0)
    with advisory_lock(engine, LockKind.APPLY, key):
        assert deployer.prune({name: set()}, stop=later) == {name: ["2", "3", "4", "5"]}
    assert not later.stopped
    assert _versions(lambda_client, name) == ["6"]


def test_pruning_that_finds_a_waiter_at_the_start_reads_and_deletes_nothing(
    deployer: Deployer,
    lambda_client: LambdaClient,
    engine: Engine,
    app: str,
    spec: Spec,
    make_artifact: Callable[..., Any],
) -> None:
    for n in range(3):
        artifact = make_artifact(f"w{n}")
        deployer.deploy(
            app, [spec("web"), spec("worker")], artifact=artifact.path, sha256=artifact.sha256,
            description="D",
        )  # fmt: skip
    names = [function_name(app, "web"), function_name(app, "worker")]
    key = _key()
    queued = threading.Event()
    give_way = GiveWay(engine, key, every=0)
    result: list[dict[str, list[str]]] = []

    def prune() -> None:
        assert queued.wait(10)
        result.append(deployer.prune(dict.fromkeys(names, set()), stop=give_way))

    pruner = _hold_and_run(engine, key, prune)
    with advisory_lock(engine, LockKind.APPLY, key, on_wait=queued.set, poll=0.01):
        assert [_versions(lambda_client, name) for name in names] == [["1", "2", "3"]] * 2
    pruner.join(10)
    assert result == [dict.fromkeys(names, [])]
