from __future__ import annotations

from fastapi import APIRouter, Body

from laambda.api import present
from laambda.api.deps import ApplierDep, AppName, CipherDep, CurrentUser, SessionDep
from laambda.api.schemas.release import ChangeRead
from laambda.domain.env_vars import KEY_PATTERN
from laambda.services.app import app_service
from laambda.services.config import config_service

router = APIRouter(prefix="/apps/{app}/config", tags=["config"])
MASK = "********"


@router.get("")
def show_config(
    app: AppName, session: SessionDep, user: CurrentUser, cipher: CipherDep, reveal: bool = False
) -> dict[str, str]:
    """The config vars; values are masked unless `reveal=true`."""
    config = config_service.show(session, app_service.get_for(session, user, app), cipher)
    return dict(sorted(config.items())) if reveal else dict.fromkeys(sorted(config), MASK)


@router.patch("")
def change_config(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    applier: ApplierDep,
    changes: dict[str, str | None] = Body(
        examples=[{"BUCKET": "photos", "DEBUG": None}],
        description="keys to set to a value, and keys to unset (null), in one release",
        json_schema_extra={"propertyNames": {"pattern": KEY_PATTERN.pattern}},
    ),
) -> ChangeRead:
    locked = app_service.get_for(session, user, app, lock=True)
    result = config_service.change(
        session, locked, user=user, changes=changes, cipher=cipher, applier=applier
    )
    return present.change(session, result)
