"""The one shape every error answer has (laambda/errors.py, rendered in api/app.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict


class ErrorRead(BaseModel):
    error: str = Field(
        description="the failure noun: AppNotFound, InvalidInput, PermissionDenied …",
        examples=["AppNotFound"],
    )
    detail: str = Field(
        description="what was wrong and how to fix it, for people",
        examples=["app 'thumbs' does not exist"],
    )


# text PostgreSQL can store holds no NUL: said in the document (json_schema_extra) so clients
# know; the API answers 422 for it (api/app.py renders the database's refusal)
NO_NUL: JsonDict = {"pattern": "^[^\\x00]*$"}
EMAIL: JsonDict = {"pattern": "^[^\\x00@]+@[^\\x00]+$"}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorRead, "description": "the request was refused; `detail` says why"},
    "422": {"model": ErrorRead, "description": "the input broke a rule; `detail` names it"},
    "5XX": {"model": ErrorRead, "description": "AWS or the platform failed; `detail` says how"},
}
"""Documented on every route, in place of FastAPI's own 422 shape (which the API never sends)."""
