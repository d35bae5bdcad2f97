"""What the worker hides in text people see (domain/redact.py does the hiding): the platform's
own secret values, and the config var values of the app whose build or release it runs.

The one place the worker gathers them, so a build's output, a release's log and error (the
release phase's lines, a smoke check's answer, AWS's refusals) and a canary's are scrubbed
with the same values before they are streamed or stored (README "What it prints").
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from sqlalchemy.orm import Session

from laambda.db.models import Release
from laambda.domain.redact import Redactor, platform_secrets
from laambda.services.release import release_service
from laambda.worker.context import WorkerContext


def redactor(context: WorkerContext, values: Iterable[str]) -> Redactor:
    """Hides the platform's secrets (its settings and the worker's environment: the secret
    key, database and broker passwords, AWS keys) and `values` (an app's config var values)."""
    return Redactor([*platform_secrets(context.settings.model_dump(), os.environ), *values])


def release_secrets(context: WorkerContext, session: Session, release: Release) -> tuple[str, ...]:
    """The config values `release` deploys and, when there is one, those of the release live
    before it: what its functions may print (the new config) or AWS may quote (either)."""
    last = release_service.last_live(session, release)
    rows = [release] if last is None else [release, last]
    configs: list[dict[str, str]] = [context.cipher.decrypt_json(r.config_encrypted) for r in rows]
    return tuple(value for config in configs for value in config.values())
