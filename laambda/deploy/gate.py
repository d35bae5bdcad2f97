"""What a release must pass after its versions are published and before any `live` moves:
the release phase (the Procfile's `release` entry, run once) and the smoke checks.

Both invoke the new published versions directly (by number, never through `live`), so
nothing that serves traffic sees them until they pass; any failure raises DeployFailed
and the Deployer leaves every alias where it was (Heroku's release phase,
https://devcenter.heroku.com/articles/release-phase; SAM's pre-traffic hooks).

What a function answers runs with the release's config: its log lines and payload pass
through `redact` before they are logged or quoted in a failure, and before they are cut
short (a secret cut in half would escape a later redaction). Health is judged on the answer
as it came.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from laambda.deploy.functions import Prepared
from laambda.deploy.observe import Invocation, Observer
from laambda.errors import DeployFailed, LaambdaError

Log = Callable[[str], None]
Redact = Callable[[str], str]
SHOWN = 500  # characters of an answer quoted in a failure
TAIL_LINES = 20  # log lines of a failed release phase quoted in its reason
# Invoke's LogResult is the last 4 KB of the invocation's log (AWS Lambda API reference,
# Invoke: "LogType Tail"), so its first line may be cut
LOG_TAIL_BYTES = 4096


@dataclass(frozen=True)
class SmokeCheck:
    """An event sent to one function's new version; healthy means no function error and,
    when `expect_status` is set, a `statusCode` equal to it in the answer (HTTP functions)."""

    function_name: str  # the Lambda function name, `<app>-<entry>`
    event: bytes
    expect_status: int | None = None


class Gate:
    """Called by the Deployer with every prepared function; raises DeployFailed to stop."""

    def __init__(
        self,
        observer: Observer,
        *,
        log: Log,
        redact: Redact,
        release_function: str | None,
        checks: list[SmokeCheck],
    ) -> None:
        """`redact` hides secret values (the release's config values and the platform's
        secrets, domain/redact.py) in what the functions answer."""
        self.observer = observer
        self.log = log
        self.redact = redact
        self.release_function = release_function
        self.checks = checks

    def __call__(self, ready: list[Prepared]) -> None:
        versions = {item.name: item.version for item in ready}
        if self.release_function is not None and self.release_function in versions:
            self.release_phase(self.release_function, versions[self.release_function])
        for check in self.checks:
            if check.function_name in versions:
                self.smoke(check, versions[check.function_name])

    def release_phase(self, function_name: str, version: str) -> None:
        """Run the release entry once; its log lines go to the pusher, whatever happens."""
        self.log(f"-----> Running release phase ({function_name} version {version})")
        started = time.monotonic()
        answer = self._invoke(function_name, version, b"{}", what="release phase")
        lines = self._log_lines(answer.log_tail or "")
        for line in lines:
            self.log(f"       {line}")
        if answer.function_error:
            tail = "\n".join(lines[-TAIL_LINES:])
            raise DeployFailed(
                f"release phase failed: {self._shown(answer.payload)}; nothing was released"
                + (f"\nlast lines of its log:\n{tail}" if tail else "")
            )
        self.log(f"       release phase succeeded in {time.monotonic() - started:.1f} s")

    def smoke(self, check: SmokeCheck, version: str) -> None:
        """Send the check's event to the new version; DeployFailed with the answer if unhealthy."""
        answer = self._invoke(check.function_name, version, check.event, what="smoke check")
        problem = _unhealthy(answer, check.expect_status)
        if problem:
            raise DeployFailed(
                f"smoke check of {check.function_name} version {version} failed: {problem}; "
                f"it answered {self._shown(answer.payload)}; nothing was released"
            )
        self.log(f"{check.function_name}: smoke check passed")

    def _invoke(self, function_name: str, version: str, payload: bytes, *, what: str) -> Invocation:
        try:
            return self.observer.invoke(function_name, payload, tail=True, qualifier=version)
        except LaambdaError as exc:
            raise DeployFailed(f"{what} of {function_name} could not run: {exc.message}") from None

    def _log_lines(self, tail: str) -> list[str]:
        """An invocation's log tail, redacted, without its first line when Lambda cut the
        log there: it may begin inside a secret, and no redaction knows a piece of one."""
        if len(tail.encode()) >= LOG_TAIL_BYTES:
            tail = tail.partition("\n")[2]
        return self.redact(tail).splitlines()

    def _shown(self, payload: bytes) -> str:
        """An answer as quoted in a failure: redacted, then cut to SHOWN characters."""
        text = self.redact(payload.decode("utf-8", "replace"))
        return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _unhealthy(answer: Invocation, expect_status: int | None) -> str | None:
    if answer.function_error:
        return f"function error ({answer.function_error})"
    if expect_status is None:
        return None
    try:
        found = json.loads(answer.payload)
    except ValueError:
        found = None
    status = found.get("statusCode") if isinstance(found, dict) else None
    if status != expect_status:
        return f"statusCode {status}, expected {expect_status}"
    return None
