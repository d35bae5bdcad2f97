"""Lambda calls that survive the control plane's limits: throttling and busy functions.

Lambda allows about 15 control-plane requests a second per account, and refuses a change
while the previous one is still being applied (ResourceConflictException). botocore's
adaptive retries cover most throttling; this layer adds backoff with jitter on top, for
the calls botocore gives up on and for conflicts, which botocore never retries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
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


class LambdaCalls:
    """The Lambda client with retries on throttling and on functions busy with an update."""

    def __init__(self, client: LambdaClient, *, backoff: Backoff | None = None) -> None:
        self.client = client
        self.backoff = backoff or Backoff()

    def call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call, retrying throttling and conflicts (an update still in progress)."""
        return self._retrying(THROTTLED | BUSY, method, *args, **kwargs)

    def create(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call something whose conflict means 'already there': retrying would not help."""
        return self._retrying(THROTTLED, method, *args, **kwargs)

    def _retrying(
        self, codes: frozenset[str], method: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        for attempt in range(self.backoff.attempts):
            try:
                return method(*args, **kwargs)
            except ClientError as exc:
                if error_code(exc) not in codes or attempt == self.backoff.attempts - 1:
                    raise
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
