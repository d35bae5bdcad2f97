"""Failure nouns. Each carries the HTTP status the API answers with and a message for people."""

from __future__ import annotations


class LaambdaError(Exception):
    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class SettingsError(LaambdaError):
    """A LAAMBDA_* setting is missing or malformed; the server cannot start."""


class NotAuthenticated(LaambdaError):
    status_code = 401


class PermissionDenied(LaambdaError):
    status_code = 403


class NotFound(LaambdaError):
    status_code = 404


class AppNotFound(NotFound):
    pass


class ReleaseNotFound(NotFound):
    pass


class BuildNotFound(NotFound):
    pass


class Conflict(LaambdaError):
    status_code = 409


class AppExists(Conflict):
    pass


class InvalidInput(LaambdaError):
    status_code = 422


class RollbackRefused(LaambdaError):
    status_code = 409


class BuildFailed(LaambdaError):
    """The source could not be turned into an artifact; the message says why and how to fix it."""

    status_code = 422


class DeployFailed(LaambdaError):
    status_code = 502


class ObjectMissing(LaambdaError):
    status_code = 404


class FunctionNotFound(NotFound):
    pass


class EventSourceNotFound(NotFound):
    pass


class EventSourceExists(Conflict):
    pass


class AwsRefused(LaambdaError):
    """AWS answered an operation (event source, invoke, logs, metrics) with an error; its words."""

    status_code = 502


class PipelineNotFound(NotFound):
    pass


class PipelineExists(Conflict):
    pass


class PromotionRefused(Conflict):
    """A promotion that would not run as asked (no live release upstream, a runtime or
    architecture the downstream app does not run, names over Lambda's limits, a deploy under
    way); nothing was changed."""
