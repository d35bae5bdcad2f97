"""A bounded schemathesis run against the real app on PostgreSQL: no 5xx, no answer outside the
OpenAPI document, whatever the input (Schemathesis' checks, positive and negative data).

The caller is a real user with a token; half of the generated app names are replaced by a
seeded app's, so paths reach real rows (its config, releases, builds, functions).
"""

from __future__ import annotations

import time
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.api import released

Auth = dict[str, str]
EXAMPLES_PER_OPERATION = 20  # x 2 modes x 40 operations: about 1,500 requests
BUDGET_SECONDS = 150
# business rules the document does not spell out (a role LAAMBDA_ALLOWED_ROLES permits, a
# Procfile entry that exists) refuse schema-valid input with 422: that is no fault
EXCLUDED: list[CheckFunction] = [positive_data_acceptance]


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
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    started = time.monotonic()
    requests = 0

    def send(case: Case[Any]) -> None:
        nonlocal requests
        if isinstance(case.path_parameters, dict) and "app" in case.path_parameters:
            if hash(str(case.path_parameters["app"])) % 2 == 0:
                case.path_parameters["app"] = seeded.name
        case.call_and_validate(headers=auth, excluded_checks=EXCLUDED)
        requests += 1

    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_SECONDS:
                pytest.fail(f"the run outgrew its {BUDGET_SECONDS} s budget after {requests}")

            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Case[Any]) -> None:
                send(case)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # nothing to negate: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE
    assert requests > 1000, requests
