"""A bounded schemathesis run against the real app on PostgreSQL: no 5xx, no answer outside the
OpenAPI document, whatever the input (Schemathesis' checks, positive and negative data).

The caller is a real user with a token; half of the generated app names are replaced by a
seeded app's, so paths reach real rows (its config, releases, builds, functions).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.support import released

if TYPE_CHECKING:
    from schemathesis import Case, GenerationMode

# Hypothesis and Schemathesis are imported by the test itself, not when the module is collected:
# every test process collects every module, and only one runs this test (0.6 CPU-s each).

Auth = dict[str, str]
EXAMPLES_PER_OPERATION = 6  # x 2 modes x about 70 operations: about 800 requests
BUDGET_SECONDS = 120


@pytest.fixture
def api_settings(database_url: str, moto_url: str, settings: Settings) -> Settings:
    return released.api_settings(database_url, moto_url, settings.data_dir)


@pytest.fixture
def seeded(db: Session, alice: tuple[User, Auth], settings: Settings) -> App:
    """An app of alice's with a release whose Procfile has create and resize."""
    return released.recorded_app(db, alice[0], settings)


@pytest.mark.slow
@pytest.mark.timeout(BUDGET_SECONDS + 60)
def test_no_server_error_and_no_schema_violation(api: FastAPI, auth: Auth, seeded: App) -> None:
    import hypothesis.errors
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    started = time.monotonic()
    sent: list[str] = []
    answered: list[int] = []

    def send(case: Case[Any], mode: GenerationMode) -> None:
        # positive cases only: a negative one must stay invalid
        if mode is GenerationMode.POSITIVE and "app" in (case.path_parameters or {}):
            if zlib.crc32(str(case.path_parameters["app"]).encode()) % 2 == 0:
                case.path_parameters["app"] = seeded.name
        if mode is GenerationMode.POSITIVE and isinstance(case.body, dict):
            if "public_key" in case.body:  # a valid key is more than a schema can say
                case.body["public_key"] = _public_key()
        response = case.call_and_validate(headers=auth)  # every check Schemathesis has
        sent.append(case.operation.label)
        answered.append(response.status_code)

    failures = []
    operations: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        operations.add(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_SECONDS:
                pytest.fail(f"the run outgrew its {BUDGET_SECONDS} s budget after {len(sent)}")
            try:
                exercise(operation.as_strategy(generation_mode=mode), mode, send)
            except hypothesis.errors.Unsatisfiable:
                # nothing to negate: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {_described(exc)}")
    assert not failures, "\n\n".join(failures)
    assert operations - set(sent) == set(), "operations never called"
    assert len(sent) > 500, len(sent)
    # the run reached real rows, not only refusals
    reached = sum(200 <= status < 300 for status in answered)
    assert reached > 50, (reached, sorted(set(answered)))


def _public_key() -> str:
    """A fresh OpenSSH ed25519 public key line."""
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + " fuzz@test"


def exercise(
    strategy: Any, mode: GenerationMode, send: Callable[[Case[Any], GenerationMode], None]
) -> None:
    """One operation in one mode: its explicit examples, then generated cases."""
    import hypothesis
    from hypothesis import HealthCheck, Phase

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case: Case[Any]) -> None:
        send(case, mode)

    run()


def _described(exc: BaseException) -> str:
    """The failure with every exception a group holds (Hypothesis wraps a failure that did not
    repeat, its cause inside), so a rare failure names its cause the one time it happens."""
    said = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, BaseExceptionGroup):
        said += "".join(f"\n  - {_described(inner)}" for inner in exc.exceptions)
    return said
