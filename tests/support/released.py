"""An app released for real on moto's server, for the operating routes' tests.

Each test gets an app of its own name (moto's server lives for the whole session), recorded
with a deploy release whose Procfile has create and resize, and both functions live in AWS.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import App, Collaborator, Release, User
from laambda.deploy import aws
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.objectstore import ObjectStore
from laambda.services.applier import InlineApplier
from laambda.services.release import release_service
from tests.support import factories
from tests.support.archives import zip_of
from tests.support.aws import ROLE, ensure_role

# the queues and streams of moto's account, which apps of these tests may attach
ALLOWED_SOURCES = ["arn:aws:*:*:123456789012:*"]
PROCFILE = {"create": "main.create", "resize": "main.resize"}


def api_settings(database_url: str, moto_url: str, data_dir: Path | None = None) -> Settings:
    settings = Settings(
        database_url=database_url,
        applier="inline",
        default_role=ROLE,
        aws_endpoint_url=moto_url,
        allowed_event_source_arns=ALLOWED_SOURCES,
    )
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def recorded_app(db: Session, user: User, settings: Settings) -> App:
    """An app of the user's with a deploy release of create and resize, not yet in AWS."""
    # made a day ago: metrics show from the app's creation on, and the tests put some in
    # the last hours
    app = factories.app(
        name=f"ops{os.urandom(4).hex()}",
        owner_id=user.id,
        created_at=datetime.now(UTC) - timedelta(days=1),
    )
    db.add(Collaborator(app_id=app.id, user_id=user.id))
    db.commit()
    deploy(db, app, user, settings, procfile=PROCFILE)
    return app


def release_in_aws(app: App, settings: Settings, store: ObjectStore, tmp_path: Path) -> None:
    """Make the app's functions live in moto, as the worker would."""
    ensure_role(settings)
    code = {"main.py": "def create(event, context):\n    return event\n"}
    path = zip_of(code, tmp_path / "artifact.zip")
    specs = [
        FunctionSpec(
            name=entry,
            handler=handler,
            runtime="python3.12",
            architecture="x86_64",
            role=ROLE,
            memory=1024,
            timeout=10,
            environment={},
        )
        for entry, handler in PROCFILE.items()
    ]
    deployer = Deployer(aws.lambda_client(settings), store, concurrency=4, log=lambda _line: None)
    deployer.deploy(
        app.name,
        specs,
        artifact=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        description="v1",
    )


def deploy(db: Session, app: App, user: User, settings: Settings, **build: object) -> Release:
    """A successful build released the way the worker will: through the release service."""
    row = factories.build(app_id=app.id, **build)
    applier = InlineApplier(
        sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint")
    )
    release = release_service.deploy(
        db, app, row, user=user, cipher=Cipher(settings.secret_key), applier=applier
    )
    db.commit()
    return release


def mark(db: Session, release: Release, status: str, error: str | None = None) -> None:
    release.status = status
    release.error = error
    db.commit()
