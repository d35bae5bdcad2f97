from __future__ import annotations

from fastapi import APIRouter

from laambda.api import present
from laambda.api.deps import ApplierDep, AppName, CipherDep, CurrentUser, SessionDep
from laambda.api.schemas.function import FunctionRead, FunctionUpdate
from laambda.api.schemas.release import ChangeRead
from laambda.services.app import app_service
from laambda.services.function import function_service

router = APIRouter(prefix="/apps/{app}/functions", tags=["functions"])


@router.get("")
def list_functions(app: AppName, session: SessionDep, user: CurrentUser) -> list[FunctionRead]:
    infos = function_service.list(session, app_service.get_for(session, user, app))
    return [FunctionRead.model_validate(info) for info in infos]


@router.patch("/{name}")
def change_function(
    app: AppName,
    name: str,
    body: FunctionUpdate,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    applier: ApplierDep,
) -> ChangeRead:
    """Change memory and/or timeout of one function: one release."""
    locked = app_service.get_for(session, user, app, lock=True)
    result = function_service.change(
        session,
        locked,
        name,
        user=user,
        memory=body.memory,
        timeout=body.timeout,
        cipher=cipher,
        applier=applier,
    )
    return present.change(session, result)
