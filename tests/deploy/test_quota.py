"""Lambda's control-plane quota in front of moto (laambda/local/quota.py), and deploys that
keep to it: throttled calls are retried and never reach the user, a code change costs at most
two quota-limited calls per function, a rollback only its alias moves (issue 17)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.calls import Backoff, RateLimiter
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.local.quota import QuotaProxy
from laambda.objectstore import ObjectStore
from tests.support.deploy import Artifact

RATE = 8.0  # lower than AWS's 15 so that a few functions are enough to be throttled

# calls paced through the quota proxy: seconds of waiting each, by design (not in test-fast)
pytestmark = pytest.mark.slow


@pytest.fixture
def proxy(moto_url: str) -> Iterator[QuotaProxy]:
    quota = QuotaProxy(moto_url, rate=RATE).start()
    yield quota
    quota.stop()


@pytest.fixture
def quota_deployer(proxy: QuotaProxy, settings: Settings, object_store: ObjectStore) -> Deployer:
    """A deployer whose Lambda calls all go through the quota, with the worker's limiter."""
    through = settings.model_copy(update={"aws_endpoint_url": proxy.url})
    return Deployer(
        aws.lambda_client(through),
        object_store,
        concurrency=8,
        log=lambda _: None,
        backoff=Backoff(attempts=10, base=0.05, cap=0.5),
        limiter=RateLimiter(RATE, 100.0),
    )


class TestProxy:
    def test_the_excess_is_answered_as_aws_throttles_and_boto3_raises_it(
        self, moto_url: str
    ) -> None:
        proxy = QuotaProxy(moto_url, rate=1.0).start()  # the second call in a second is refused
        try:
            self._excess(proxy)
        finally:
            proxy.stop()

    def _excess(self, proxy: QuotaProxy) -> None:
        no_retries = boto3.session.Session().client(
            "lambda",
            endpoint_url=proxy.url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        raised = None
        for _ in range(10):
            try:
                no_retries.list_functions(MaxItems=1)
            except no_retries.exceptions.TooManyRequestsException as exc:
                raised = exc
                break
        assert raised is not None, "the quota never answered TooManyRequestsException"
        assert raised.response["Error"] == {
            "Code": "TooManyRequestsException",
            "Message": "Rate exceeded",
        }
        assert raised.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert proxy.throttled["GET /2015-03-31/functions"] >= 1
        # GetFunction has a quota of its own: the shared one being spent does not stop it
        with pytest.raises(no_retries.exceptions.ResourceNotFoundException):
            no_retries.get_function(FunctionName="no-such-function")

    def test_s3_passes_untouched(self, proxy: QuotaProxy, settings: Settings) -> None:
        through = settings.model_copy(update={"aws_endpoint_url": proxy.url})
        store = ObjectStore(aws.s3_client(through), settings.artifact_bucket)
        store.ensure_bucket()
        for n in range(int(RATE) * 3):
            store.put_bytes(f"k{n}", b"x" * 1000)
        assert sum(proxy.throttled.values()) == 0


class TestDeployUnderTheQuota:
    def test_a_code_change_retries_throttling_unseen_with_two_limited_calls_a_function(
        self,
        quota_deployer: Deployer,
        proxy: QuotaProxy,
        app: str,
        spec: Callable[..., FunctionSpec],
        make_artifact: Callable[[str], Artifact],
    ) -> None:
        specs = [spec(f"f{n}") for n in range(6)]
        first, second = make_artifact("one"), make_artifact("two")
        created = quota_deployer.deploy(
            app, specs, artifact=first.path, sha256=first.sha256, description="v1", previous=()
        )
        proxy.reset()
        changed = quota_deployer.deploy(
            app,
            specs,
            artifact=second.path,
            sha256=second.sha256,
            description="v2",
            previous=created.versions,
        )
        assert changed.code_updates == 6
        assert proxy.calls["UpdateFunctionCode"] == 6
        assert proxy.calls["UpdateAlias"] == 6
        assert proxy.calls["PublishVersion"] == 0  # published by UpdateFunctionCode
        assert proxy.mutating() <= 2 * len(specs)
        assert proxy.limited() == 2 * len(specs)  # GetFunction is not counted against it

        # a rollback is its alias moves and nothing else that the shared quota counts
        proxy.reset()
        started = time.monotonic()
        back = quota_deployer.rollback(
            app,
            specs,
            targets=created.versions,
            sha256=first.sha256,
            description="Rollback to v1",
            previous=changed.versions,
        )
        assert back.versions == created.versions
        assert proxy.limited() == proxy.calls["UpdateAlias"] == len(specs)
        assert time.monotonic() - started < 10

    def test_throttled_calls_are_retried_and_the_deploy_succeeds(
        self,
        quota_deployer: Deployer,
        proxy: QuotaProxy,
        app: str,
        spec: Callable[..., FunctionSpec],
        make_artifact: Callable[[str], Artifact],
    ) -> None:
        """Twenty new functions (40 limited calls) at 8 a second: Lambda throttles, the
        deploy rides it out and then keeps to the quota."""
        specs = [spec(f"g{n}") for n in range(20)]
        artifact = make_artifact("many")
        outcome = quota_deployer.deploy(
            app, specs, artifact=artifact.path, sha256=artifact.sha256, description="v1"
        )
        assert len(outcome.versions) == 20
        assert sum(proxy.throttled.values()) >= 1  # it was throttled, and no one saw it
        assert proxy.calls["CreateFunction"] == 20
        assert proxy.calls["CreateAlias"] == 20
