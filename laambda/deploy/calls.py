"""Lambda calls that survive the control plane's limits: throttling and busy functions.

Lambda allows about 15 control-plane requests a second per account, and refuses a change
while the previous one is still being applied (ResourceConflictException). botocore's
retries cover most throttling; this layer adds backoff with jitter on top, for the calls
botocore gives up on and for conflicts, which botocore never retries, and (RateLimiter)
keeps the worker's calls to the quota once Lambda has throttled them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from botocore.exceptions import ClientError, WaiterError

from laambda.errors import DeployFailed

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

P = ParamSpec("P")
T = TypeVar("T")

THROTTLED = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"}
)
BUSY = frozenset({"ResourceConflictException", "ResourceNotReadyException"})
MISSING = frozenset({"ResourceNotFoundException"})
# items a page of a Lambda list call: ListAliases and ListVersionsByFunction give 50 at most
PAGE = 50


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    """AWS's own words, which is what a user needs to fix a role or a handler."""
    error = exc.response.get("Error", {})
    return str(error.get("Message") or error.get("Code") or exc)


def is_missing(exc: ClientError) -> bool:
    return error_code(exc) in MISSING


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff (the AWS Architecture Blog's recommendation)."""

    attempts: int = 8
    base: float = 0.25
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


class _Bucket:
    """Calls spaced to `rate` a second, at most `burst` at once after a quiet spell."""

    def __init__(self, rate: float, burst: float) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self.next = 0.0  # monotonic time the next call may go, were no token saved
        self.lock = threading.Lock()
        self.on = threading.Event()  # set once Lambda throttled a call of this bucket

    def reserve(self) -> float:
        """Seconds to wait before the call may go (its slot is taken at once)."""
        with self.lock:
            now = time.monotonic()
            start = max(self.next, now - (self.burst - 1) * self.interval)
            self.next = start + self.interval
            return max(0.0, start - now)

    def empty(self) -> None:
        """Lambda said no: from now on calls are spaced, starting with nothing saved."""
        with self.lock:
            self.next = max(self.next, time.monotonic())
        self.on.set()


class RateLimiter:
    """The worker's share of Lambda's control-plane quota, on once Lambda throttles it.

    AWS allows about 15 requests a second per account and region for every Lambda call but
    GetFunction, which has 100 ("Lambda quotas", AWS Lambda Developer Guide). Until Lambda
    answers TooManyRequestsException the calls go as fast as they come (a local cloud, or a
    raised quota, has no such limit); from the first throttle on, every call waits for its
    slot in a bucket at `rate` (GetFunction, once GetFunction is throttled:
    `get_function_rate`), so the rest of the deploy
    runs at the quota instead of being refused and backing off. Shared by the threads of a
    worker process (one per region: the quota is per region).
    """

    def __init__(
        self, rate: float, get_function_rate: float, *, get_function_burst: float = 0.5
    ) -> None:
        """`rate`, `get_function_rate`: requests a second; `get_function_burst`: seconds'
        worth of GetFunction calls that may go at once after as long a quiet spell."""
        # no burst for the shared quota: a burst met by a bucket Lambda has not refilled yet
        # is throttled, and botocore's retries then slow every call down (measured:
        # 36 throttles and a rollback at 2.2x the floor with a burst of a second's worth, 4
        # and 1.3x without). GetFunction's quota is nearly 7 times larger and only reads
        # spend it: after half a second of no GetFunction from this process, a rollback's
        # verification of 50 targets goes at once instead of taking half a second
        self.shared = _Bucket(rate, burst=1)
        self.get_function = _Bucket(
            get_function_rate, burst=max(1.0, get_function_rate * get_function_burst)
        )

    def acquire(self, operation: str) -> None:
        """Wait for the slot of one call of `operation` (a boto3 method name)."""
        bucket = self._bucket(operation)
        if bucket.on.is_set() and (wait := bucket.reserve()) > 0:
            time.sleep(wait)

    def throttled(self, operation: str) -> None:
        """Lambda refused a call of `operation` for the rate: from now on, keep to it."""
        self._bucket(operation).empty()

    def _bucket(self, operation: str) -> _Bucket:
        return self.get_function if operation == "get_function" else self.shared

    def watch(self, client: LambdaClient) -> None:
        """Learn of throttling botocore retries by itself, too (its retries never reach
        LambdaCalls); registered once per client."""
        client.meta.events.register(
            "needs-retry.lambda", self._needs_retry, unique_id=f"laambda-rate-{id(self)}"
        )

    def _needs_retry(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        if response is None or operation is None:
            return
        code = str((response[1] or {}).get("Error", {}).get("Code", ""))
        if code in THROTTLED:
            self.throttled(_snake(str(operation.name)))


def _snake(name: str) -> str:
    """GetFunction -> get_function (boto3's method name of an operation)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class LambdaCalls:
    """The Lambda client with retries on throttling and on functions busy with an update,
    and (with a `limiter`) no faster than Lambda's quota once Lambda has throttled."""

    def __init__(
        self,
        client: LambdaClient,
        *,
        backoff: Backoff | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.client = client
        self.backoff = backoff or Backoff()
        self.limiter = limiter
        if limiter is not None:
            limiter.watch(client)

    def call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call, retrying throttling and conflicts (an update still in progress)."""
        return self._retrying(THROTTLED | BUSY, method, *args, **kwargs)

    def call_without_conflict_retry(
        self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call something whose conflict means 'already there': retrying would not help."""
        return self._retrying(THROTTLED, method, *args, **kwargs)

    def items(self, method: Callable[..., Any], key: str, /, **kwargs: Any) -> Iterator[Any]:
        """Every item under `key` of a Lambda list call that pages with Marker / NextMarker
        (ListFunctions, ListAliases, ListVersionsByFunction, ListEventSourceMappings), page
        after page of PAGE.

        Each page is one `call`, so it waits for the rate limiter and is retried on
        throttling; boto3's paginators call the client directly and would skip both.
        """
        marker: str | None = None
        while True:
            page = self.call(
                method, MaxItems=PAGE, **kwargs, **({"Marker": marker} if marker else {})
            )
            yield from page.get(key, [])
            marker = page.get("NextMarker")
            if not marker:
                return

    def _retrying(
        self, codes: frozenset[str], method: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        operation = getattr(method, "__name__", "")
        for attempt in range(self.backoff.attempts):
            if self.limiter is not None:
                self.limiter.acquire(operation)
            try:
                return method(*args, **kwargs)
            except ClientError as exc:
                if error_code(exc) not in codes or attempt == self.backoff.attempts - 1:
                    raise
                if self.limiter is not None and error_code(exc) in THROTTLED:
                    self.limiter.throttled(operation)
            time.sleep(self.backoff.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def wait(self, waiter: Literal["function_active_v2", "function_updated_v2"], name: str) -> None:
        """Wait (polling every second) until Lambda reports the function ready.

        A throttled poll ends botocore's waiter, so the wait is started again; a failed
        update becomes DeployFailed with Lambda's reason.
        """
        for attempt in range(self.backoff.attempts):
            try:
                self.client.get_waiter(waiter).wait(
                    FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
                )
                return
            except WaiterError as exc:
                response: Any = exc.last_response or {}
                code = str(response.get("Error", {}).get("Code", ""))
                if code not in THROTTLED | BUSY or attempt == self.backoff.attempts - 1:
                    raise DeployFailed(f"{name}: {_waiter_reason(exc, response)}") from None
            time.sleep(self.backoff.delay(attempt))


def _waiter_reason(exc: WaiterError, response: Any) -> str:
    config = response.get("Configuration", {})
    reason = config.get("LastUpdateStatusReason") or config.get("StateReason")
    if reason:
        return str(reason)
    error = response.get("Error", {})
    return str(error.get("Message") or exc)
