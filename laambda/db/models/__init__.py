"""All models, imported so Alembic and the mappers see every table."""

from laambda.db.models.api_token import ApiToken
from laambda.db.models.app import App
from laambda.db.models.audit_event import AuditEvent
from laambda.db.models.build import Build
from laambda.db.models.collaborator import Collaborator
from laambda.db.models.config_var import ConfigVar
from laambda.db.models.event_source import EventSource
from laambda.db.models.function_check import FunctionCheck
from laambda.db.models.function_setting import FunctionSetting
from laambda.db.models.pipeline import Pipeline
from laambda.db.models.release import Release
from laambda.db.models.ssh_key import SshKey
from laambda.db.models.user import User
from laambda.db.models.web_session import WebSession

__all__ = [
    "ApiToken",
    "App",
    "AuditEvent",
    "Build",
    "Collaborator",
    "ConfigVar",
    "EventSource",
    "FunctionCheck",
    "FunctionSetting",
    "Pipeline",
    "Release",
    "SshKey",
    "User",
    "WebSession",
]
