"""A rollback under Lambda's quota (issue 17): every target verified before any alias moves,
where each `live` points read just before its move (overlapping the paced moves), one
mutating call per function, and everything moved back when a move fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.calls import Backoff, RateLimiter
from laambda.deploy.lambda_ import Deployer, DeployOutcome, FunctionSpec
from laambda.errors import DeployFailed
from laambda.local.quota import MUTATING, QuotaProxy, phases
from laambda.objectstore import ObjectStore
from tests.support.deploy import Artifact, injected_error

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

RATE = 8.0  # lower than AWS's 15: a few functions are enough to be paced
COUNT = 10
Spec = Callable[..., FunctionSpec]
MakeArtifact = Callable[[str], Artifact]

# calls paced through the quota proxy: seconds of waiting each, by design (not in test-fast)
pytestmark = pytest.mark.slow


@dataclass
class Quota:
    """The proxy, a deployer whose Lambda calls all go through it (with the worker's
    limiter), and every call the deployer made: (operation, function, qualifier)."""

    proxy: QuotaProxy
    client: LambdaClient
    deployer: Deployer
    log: list[str]
    seen: list[tuple[str, str, str | None]]


@pytest.fixture
def quota(moto_url: str, settings: Settings, object_store: ObjectStore) -> Iterator[Quota]:
    proxy = QuotaProxy(moto_url, rate=RATE).start()
    through = settings.model_copy(update={"aws_endpoint_url": proxy.url})
    client = aws.lambda_client(through)
    log: list[str] = []
    seen: list[tuple[str, str, str | None]] = []
    lock = threading.Lock()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        with lock:
            seen.append((model.name, params.get("FunctionName", ""), params.get("Qualifier")))

    client.meta.events.register("before-parameter-build.lambda.*", record)
    deployer = Deployer(
        client,
        object_store,
        concurrency=8,
        log=log.append,
        backoff=Backoff(attempts=10, base=0.05, cap=0.5),
        limiter=RateLimiter(RATE, 100.0),
    )
    yield Quota(proxy, client, deployer, log, seen)
    proxy.stop()


def live_versions(client: LambdaClient, names: list[str]) -> dict[str, str]:
    """Read by a client of moto's own, not through the quota (counted calls stay the deployer's)."""
    return {
        name: client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] for name in names
    }


def two_releases(
    quota: Quota, app: str, specs: list[FunctionSpec], make_artifact: MakeArtifact
) -> tuple[DeployOutcome, DeployOutcome, Artifact]:
    first, second = make_artifact("one"), make_artifact("two")
    v1 = quota.deployer.deploy(
        app, specs, artifact=first.path, sha256=first.sha256, description="v1", previous=()
    )
    v2 = quota.deployer.deploy(
        app,
        specs,
        artifact=second.path,
        sha256=second.sha256,
        description="v2",
        previous=v1.versions,
    )
    return v1, v2, first


def rollback(quota: Quota, app: str, specs: list[FunctionSpec], v1: DeployOutcome, sha: str) -> Any:
    return quota.deployer.rollback(
        app,
        specs,
        targets=v1.versions,
        sha256=sha,
        description="Rollback to v1",
        previous=list(v1.versions),
    )


class TestRollbackUnderTheQuota:
    def test_every_alias_moves_once_after_every_target_is_verified(
        self,
        quota: Quota,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        specs = [spec(f"f{n}") for n in range(COUNT)]
        v1, v2, first = two_releases(quota, app, specs, make_artifact)
        assert live_versions(lambda_client, list(v1.versions)) == v2.versions
        quota.proxy.reset()
        quota.seen.clear()
        started = time.time()

        back = rollback(quota, app, specs, v1, first.sha256)

        # what the user sees: the rollback succeeded and every alias is on the release
        assert back.versions == v1.versions
        assert back.aliases_moved == COUNT
        assert live_versions(lambda_client, list(v1.versions)) == v1.versions
        # no more than one mutating call per function, and only the alias moves
        assert quota.proxy.mutating() == quota.proxy.calls["UpdateAlias"] == COUNT
        assert quota.proxy.limited() == COUNT
        # every target's version was read (verified) before the first alias moved
        first_move = next(i for i, (op, _, _) in enumerate(quota.seen) if op == "UpdateAlias")
        verified = {
            name
            for op, name, qualifier in quota.seen[:first_move]
            if op == "GetFunction" and qualifier == v1.versions.get(name)
        }
        assert verified == set(v1.versions)
        # where `live` pointed was read for each function, each before its own move
        for name in v1.versions:
            calls = [(op, q) for op, n, q in quota.seen if n == name]
            assert calls.index(("GetFunction", "live")) < calls.index(("UpdateAlias", None))
        # at the quota's pace (8 a second: 9 gaps), not slowed by the reads
        spent = phases(quota.proxy.history(), started, time.time())
        moves = dict(spent)[f"{COUNT} changes, first to last"]
        assert moves < (COUNT - 1) / RATE * 1.5 + 0.5
        assert not any(name in MUTATING for _, name, ok in quota.proxy.history() if not ok)

    def test_a_target_whose_verification_fails_moves_no_alias(
        self,
        quota: Quota,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        specs = [spec(f"f{n}") for n in range(COUNT)]
        v1, v2, first = two_releases(quota, app, specs, make_artifact)
        refused = f"{app}-f7"

        def deny(params: dict[str, Any], **_: Any) -> Any:
            # reading the recorded version of one target is refused (not "gone": an error)
            path = params["url_path"]
            if (
                f"/functions/{refused}" in path
                and params["query_string"].get("Qualifier") == (v1.versions[refused])
            ):
                return injected_error("AccessDeniedException", "no reading f7 today", 403)
            return None

        quota.client.meta.events.register("before-call.lambda.GetFunction", deny)
        quota.proxy.reset()
        try:
            with pytest.raises(DeployFailed, match="no reading f7 today"):
                rollback(quota, app, specs, v1, first.sha256)
        finally:
            quota.client.meta.events.unregister("before-call.lambda.GetFunction", deny)

        assert quota.proxy.mutating() == 0  # not one alias moved, not even for a moment
        assert live_versions(lambda_client, list(v1.versions)) == v2.versions

    def test_a_failed_move_moves_the_others_back_to_where_each_was_read(
        self,
        quota: Quota,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        specs = [spec(f"f{n}") for n in range(COUNT)]
        v1, v2, first = two_releases(quota, app, specs, make_artifact)
        refused = f"{app}-f9"

        def refuse(params: dict[str, Any], **_: Any) -> Any:
            if f"/functions/{refused}/aliases/live" in params["url_path"]:
                time.sleep(0.3)  # the others move meanwhile
                return injected_error("InvalidParameterValueException", "alias f9 is locked")
            return None

        quota.client.meta.events.register("before-call.lambda.UpdateAlias", refuse)
        try:
            with pytest.raises(DeployFailed, match="alias f9 is locked"):
                rollback(quota, app, specs, v1, first.sha256)
        finally:
            quota.client.meta.events.unregister("before-call.lambda.UpdateAlias", refuse)

        assert any("aliases back" in line for line in quota.log)
        assert live_versions(lambda_client, list(v2.versions)) == v2.versions
        # a rollback's functions were live in their release: none deleted on the way back
        for name in v1.versions:
            lambda_client.get_function(FunctionName=name, Qualifier=v1.versions[name])

    def test_a_function_already_on_its_target_is_read_and_not_moved(
        self,
        quota: Quota,
        lambda_client: LambdaClient,
        app: str,
        spec: Spec,
        make_artifact: MakeArtifact,
    ) -> None:
        specs = [spec(f"f{n}") for n in range(3)]
        v1, _, first = two_releases(quota, app, specs, make_artifact)
        name = f"{app}-f0"
        lambda_client.update_alias(
            FunctionName=name, Name="live", FunctionVersion=v1.versions[name]
        )
        quota.proxy.reset()

        back = rollback(quota, app, specs, v1, first.sha256)

        assert back.aliases_moved == 2
        assert quota.proxy.calls["UpdateAlias"] == 2
        assert live_versions(lambda_client, list(v1.versions)) == v1.versions


class TestLimiter:
    def test_get_function_goes_at_once_after_a_quiet_spell_while_the_shared_quota_is_paced(
        self,
    ) -> None:
        limiter = RateLimiter(15.0, 100.0)
        limiter.throttled("get_function")
        limiter.throttled("update_alias")
        time.sleep(0.55)  # half a second of GetFunction's quota saved
        started = time.monotonic()
        for _ in range(50):  # a rollback's verification of 50 targets
            limiter.acquire("get_function")
        assert time.monotonic() - started < 0.2
        started = time.monotonic()
        for _ in range(4):
            limiter.acquire("update_alias")
        assert time.monotonic() - started >= 3 / 15 - 0.01  # no burst: 3 gaps of 1/15 s

    def test_lambda_clients_leave_pacing_to_the_limiter(self, settings: Settings) -> None:
        """botocore's adaptive mode would cap later calls at twice the rate it measured."""
        client = aws.lambda_client(settings)
        retries: Any = getattr(client.meta.config, "retries", None)
        assert retries is not None
        assert retries["mode"] == "standard"


class TestProxyTimeline:
    def test_phases_of_a_step(self) -> None:
        history = [
            (10.1, "GetFunction", True),
            (10.2, "GetFunction", True),
            (10.5, "UpdateAlias", True),
            (10.6, "UpdateAlias", False),
            (10.7, "UpdateAlias", True),
        ]
        found = dict(phases(history, 10.0, 11.0))
        assert found["until the first Lambda call"] == pytest.approx(0.1)
        assert found["reads before the first change"] == pytest.approx(0.4)
        assert found["2 changes, first to last"] == pytest.approx(0.2)
        assert found["after the last change"] == pytest.approx(0.3)
        assert found["answered 429"] == 1
        assert phases(history, 20.0, 21.0) == []

    def test_calls_through_the_proxy_are_not_delayed_by_nagle(self, quota: Quota) -> None:
        """An answer is two writes; with Nagle's algorithm each call waited 40 ms for the
        client's delayed ACK."""
        took = []
        for _ in range(15):
            started = time.perf_counter()
            with pytest.raises(quota.client.exceptions.ResourceNotFoundException):
                quota.client.get_function(FunctionName="no-such-function")
            took.append(time.perf_counter() - started)
        assert sorted(took)[len(took) // 2] < 0.035
        assert [name for _, name, _ in quota.proxy.history()] == ["GetFunction"] * 15
