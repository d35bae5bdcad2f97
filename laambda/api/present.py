"""Turning rows into the API's answers where that needs more than one row (who made a release)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from laambda.api.schemas.app import AppRead
from laambda.api.schemas.release import ChangeRead, ReleaseDetail, ReleaseRead
from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import App, Release
from laambda.domain.function import architecture_or_default
from laambda.services.config import ChangeResult
from laambda.services.pipeline import pipeline_service
from laambda.services.strategy import strategy_service
from laambda.services.user import user_service


def emails(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Who made what: user id -> email, for the ids given (None skipped)."""
    return user_service.emails(session, user_ids)


def releases(session: Session, rows: list[Release]) -> list[ReleaseRead]:
    """Each release with who made it and, when it waits behind a canary, what for."""
    by_id = emails(session, [row.user_id for row in rows])
    waits = strategy_service.waits(session, rows)
    return [
        ReleaseRead.model_validate(row).model_copy(
            update={
                "user": by_id.get(row.user_id) if row.user_id else None,
                "waiting": waits.get(row.id),
            }
        )
        for row in rows
    ]


def release_detail(session: Session, row: Release, cipher: Cipher) -> ReleaseDetail:
    base = releases(session, [row])[0]
    keys = sorted(cipher.decrypt_json(row.config_encrypted))
    return ReleaseDetail(**base.model_dump(), config_keys=keys, log=row.log)


def change(session: Session, result: ChangeResult) -> ChangeRead:
    release = releases(session, [result.release])[0] if result.release else None
    return ChangeRead(release=release, detail=result.detail)


def apps(session: Session, rows: list[App], settings: Settings) -> list[AppRead]:
    """The apps, each with its owner's email (None once the owner's account is deleted)."""
    owners = emails(session, [row.owner_id for row in rows])
    pipelines = pipeline_service.names(session, [row.pipeline_id for row in rows])
    return [
        _app(row, settings, owners.get(row.owner_id) if row.owner_id else None).model_copy(
            update={
                "pipeline": pipelines.get(row.pipeline_id) if row.pipeline_id else None,
                "stage": row.stage,
                "branch": row.branch,
            }
        )
        for row in rows
    ]


def app(session: Session, row: App, settings: Settings) -> AppRead:
    return apps(session, [row], settings)[0]


def _app(row: App, settings: Settings, owner: str | None) -> AppRead:
    return AppRead(
        name=row.name,
        region=row.region,
        role_arn=row.role_arn,
        runtime=row.runtime,
        architecture=architecture_or_default(row.architecture),
        created_at=row.created_at,
        owner=owner,
        git_url=f"ssh://git@{settings.ssh_host}:{settings.ssh_port}/{row.name}",
    )
