"""The stages an app can hold in a pipeline, in the order code is promoted through them
(Heroku pipelines: development -> staging -> production; review apps sit before them all)."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """An app's place in its pipeline; the values are stored and shown as they are."""

    REVIEW = "review"
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def rank(self) -> int:
        """0 for review apps up to 3 for production: promotion goes to a higher rank."""
        return list(Stage).index(self)


# the stages a user may put an app in with `pipelines:add`; review apps are made by pushes
ASSIGNABLE_STAGES = (Stage.DEVELOPMENT, Stage.STAGING, Stage.PRODUCTION)


def stage_rank(stage: str | None) -> int | None:
    """The promotion rank of a stored stage value (Stage.rank), None for an app in no stage
    or in a stage this version does not know."""
    try:
        return Stage(stage).rank if stage else None
    except ValueError:
        return None
