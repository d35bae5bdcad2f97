"""The base of every request body: a field the model does not declare is refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """A JSON body the API reads. An undeclared field (a misspelling such as `verison`, or an
    answer's name such as `role_arn` for `role`) is refused with a 422 naming it
    (`verison: Extra inputs are not permitted`), rather than ignored: ignoring it would do
    what the sender did not ask for, such as rolling back to the default release."""

    model_config = ConfigDict(extra="forbid")
