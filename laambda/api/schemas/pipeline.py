from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from laambda.api.schemas.app import APP_NAME_PATTERN, AppTransfer
from laambda.api.schemas.error import NO_NUL
from laambda.api.schemas.release import ReleaseRead
from laambda.api.schemas.request import RequestBody
from laambda.domain.app_name import APP_NAME_RULE, app_name_problem
from laambda.domain.branch_name import BRANCH_RULE, MAX_BRANCH

StageName = Literal["development", "staging", "production"]
APP_REF = {"minLength": 1, "maxLength": 100, **NO_NUL}
# an app named in a list: the document states what the validator below enforces
AppRef = Annotated[str, Field(json_schema_extra=APP_REF)]
BRANCH = Field(
    default=None,
    min_length=1,
    max_length=MAX_BRANCH,
    description="the branch of the pipeline's repository whose pushes deploy the app; "
    + BRANCH_RULE,
    json_schema_extra=NO_NUL,
)


class PipelineCreate(RequestBody):
    name: str = Field(
        description=APP_NAME_RULE,
        json_schema_extra={"pattern": APP_NAME_PATTERN, "minLength": 3, "maxLength": 30},
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if (problem := app_name_problem(name)) is not None:
            raise ValueError(problem.replace("app name", "pipeline name"))
        return name


class PipelineTransfer(AppTransfer):
    """`{"email": "b@x"}`: the pipeline's new owner (the same body as an app's transfer)."""


class PipelineAppAdd(RequestBody):
    """`stage` defaults to the one the app's name suggests (`-staging`, `-prod` …); `branch`
    to `main` for the production app when no app of the pipeline follows `main` yet."""

    app: str = Field(json_schema_extra=APP_REF)
    stage: StageName | None = None
    branch: str | None = BRANCH


class PipelineApp(BaseModel):
    """An app of the pipeline and what it runs: its live release and that release's commit."""

    name: str
    stage: str | None
    branch: str | None
    review_app: bool
    version: int | None = Field(description="the live release's N of vN; None: none yet")
    status: str | None
    description: str | None
    commit: str | None
    artifact_sha256: str | None


class PipelineRead(BaseModel):
    name: str
    owner: str | None = Field(description="the owner's email: who may destroy it")
    review_apps: bool
    created_at: datetime
    git_url: str = Field(description="the pipeline's one git remote: branches deploy apps")
    apps: list[PipelineApp] = Field(description="in promotion order, review apps first")


class PipelineTransferred(PipelineRead):
    transferred: list[str] = Field(
        description="its review apps, now owned by the new owner with the pipeline"
    )


class PipelineDestroyed(BaseModel):
    name: str
    detached: list[str] = Field(description="its apps, now on their own")
    destroyed: list[str] = Field(
        default_factory=list, description="its review apps, destroyed as apps:destroy does"
    )


class PromoteRequest(RequestBody):
    app: str = Field(json_schema_extra=APP_REF, description="the upstream app")
    to: list[AppRef] | None = Field(
        default=None,
        max_length=20,
        description="downstream apps (default: every app of the next stage that has apps)",
    )
    force: bool = Field(
        default=False,
        description="promote even over commits a downstream app runs that the upstream lacks",
    )

    @field_validator("to")
    @classmethod
    def _names(cls, to: list[str] | None) -> list[str] | None:
        for name in to or []:
            if not name or len(name) > 100 or "\x00" in name:
                raise ValueError("each app is a name of 1 to 100 characters")
        return to


class PromotedRead(BaseModel):
    app: str
    release: ReleaseRead | None = Field(description="its new release; None: nothing changed")
    detail: str


class PromotionRead(BaseModel):
    app: str = Field(description="the upstream app")
    version: int = Field(description="the upstream release whose artifact was promoted")
    promoted: list[PromotedRead]


class CommitRead(BaseModel):
    sha: str
    author: str
    subject: str


class DiffRead(BaseModel):
    upstream: str
    downstream: str
    upstream_commit: str | None
    downstream_commit: str | None
    commits: list[CommitRead] = Field(description="in the upstream, not downstream; newest first")
    behind: list[CommitRead] = Field(
        default_factory=list,
        description="in the downstream, not upstream (a hotfix pushed to it, which a promotion "
        "would undo); newest first; found with git only. With commits too: they diverged",
    )
    source: Literal["git", "builds"] = Field(
        description="git: from the repository; builds: the upstream's builds (no repository "
        "holds both commits)"
    )
    up_to_date: bool
    note: str | None = Field(
        default=None,
        description="why the commits could not be compared (an upload with no commit, "
        "nothing built yet); commits is empty and up_to_date false then",
    )
