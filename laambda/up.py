"""`laambda up`: the platform on one machine, with nothing to configure first.

It keeps what it makes (the secret key, the first admin's token) in the data directory, so a
restart finds the same apps, releases and credentials.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from laambda.api.app import create_app
from laambda.config import Settings, get_settings
from laambda.db import migrate
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.services.user import user_service

ADMIN_EMAIL = "admin@localhost"


def _private_file(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


def ensure_secret_key(data_dir: Path) -> None:
    """Use LAAMBDA_SECRET_KEY if set, else the key kept in the data directory (made once)."""
    if os.environ.get("LAAMBDA_SECRET_KEY"):
        return
    path = data_dir / "secret_key"
    if not path.exists():
        _private_file(path, secrets.token_urlsafe(48))
    os.environ["LAAMBDA_SECRET_KEY"] = path.read_text().strip()


def ensure_database(url: str) -> None:
    """Create the database named in the URL when the server answers but does not have it."""
    target = make_url(url)
    try:
        create_engine(url).connect().close()
        return
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def ensure_admin(settings: Settings) -> str | None:
    """Create the first admin on first start; returns their token (shown once), else None."""
    sessions = make_sessionmaker(get_engine(settings.database_url))
    with session_scope(sessions) as session:
        if user_service.all(session):
            return None
        _, token = user_service.create(session, ADMIN_EMAIL, is_admin=True)
    _private_file(settings.data_dir / "admin_token", token + "\n")
    return token


def up() -> None:
    """Run the platform on this machine (the API, against PostgreSQL)."""
    data_dir = Path(os.environ.get("LAAMBDA_DATA_DIR") or Settings.model_fields["data_dir"].default)
    os.environ["LAAMBDA_DATA_DIR"] = str(data_dir)
    ensure_secret_key(data_dir)
    settings = get_settings()
    ensure_database(settings.database_url)
    migrate.upgrade(settings.database_url)
    token = ensure_admin(settings)
    url = f"http://{settings.api_host}:{settings.api_port}"
    typer.echo(f"laambda API: {url}  (data in {data_dir})")
    if token:
        typer.echo(f"admin token (shown once, also kept in {data_dir / 'admin_token'}): {token}")
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)
