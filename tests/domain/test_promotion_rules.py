"""Which stage a name suggests, which stage is downstream, and what an artifact needs."""

from __future__ import annotations

from laambda.domain.pipeline import Stage
from laambda.domain.promotion import (
    Artifact,
    infer_stage,
    next_stage,
    previous_stage,
    promotion_problem,
)

BUILD = Artifact(runtime="python3.12", architecture="x86_64", entries=["web", "worker"])


def test_stages_from_names() -> None:
    assert infer_stage("shop-staging") is Stage.STAGING
    assert infer_stage("shop-prod") is Stage.PRODUCTION
    assert infer_stage("shop-dev") is Stage.DEVELOPMENT
    assert infer_stage("shop") is None


def test_the_next_stage_with_apps() -> None:
    assert next_stage(Stage.DEVELOPMENT, [Stage.DEVELOPMENT, Stage.PRODUCTION]) is Stage.PRODUCTION
    assert next_stage(Stage.PRODUCTION, [Stage.STAGING, Stage.PRODUCTION]) is None
    assert previous_stage(Stage.PRODUCTION, [Stage.REVIEW, Stage.STAGING]) is Stage.STAGING
    assert previous_stage(Stage.STAGING, [Stage.REVIEW, Stage.STAGING]) is None


def test_what_an_artifact_needs_downstream() -> None:
    assert promotion_problem("shop", BUILD, runtime=None, architecture=None) is None
    assert promotion_problem("shop", BUILD, runtime="python3.12", architecture="x86_64") is None
    assert "pinned to python3.11" in (
        promotion_problem("shop", BUILD, runtime="python3.11", architecture=None) or ""
    )
    assert "runs on arm64" in (
        promotion_problem("shop", BUILD, runtime=None, architecture="arm64") or ""
    )
    long = Artifact(runtime="python3.12", architecture="x86_64", entries=["e" * 40])
    assert promotion_problem("shop-staging", long, runtime=None, architecture=None) is None
    problem = promotion_problem("shop-production-eu-west-1", long, runtime=None, architecture=None)
    assert problem is not None
    assert "is 66 characters" in problem
    assert "Lambda allows 64" in problem
