"""The settings of the platform `laambda up` runs, kept for the server-side commands.

`laambda up` derives settings nobody exported: the embedded PostgreSQL's URL (a unix socket in
the data directory), the Redis it uses, the local cloud's endpoint, the builder. Once they are
known it writes them to `<data dir>/up.json` (mode 0600, LAAMBDA_* name -> value) and removes
the file when it stops. `laambda migrate`, `worker`, `receiver`, `api` and `admin create-user`
call `load()`: when no LAAMBDA_DATABASE_URL is exported and the file is there, its values fill
the variables not exported, so those commands act on the platform `up` runs. The secret key is
not copied when it is up's own (`<data dir>/secret_key`): `load()` reads that file instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path

from laambda.config import Settings, settings_env

FILE = "up.json"
SECRET_KEY_FILE = "secret_key"


def private_file(path: Path, content: str) -> None:
    """Write `content` to `path`, readable by this user only from the start (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(path, 0o600)


def data_dir(environ: MutableMapping[str, str]) -> Path:
    """LAAMBDA_DATA_DIR, else the default data directory."""
    return Path(environ.get("LAAMBDA_DATA_DIR") or Settings.model_fields["data_dir"].default)


def write(settings: Settings) -> Path:
    """Record `settings` (up's, as derived) in the data directory; returns the file."""
    variables = settings_env(settings)
    key_file = settings.data_dir / SECRET_KEY_FILE
    if key_file.exists() and key_file.read_text().strip() == settings.secret_key:
        del variables["LAAMBDA_SECRET_KEY"]
    path = settings.data_dir / FILE
    private_file(path, json.dumps(variables, indent=2, sort_keys=True) + "\n")
    return path


def remove(settings: Settings) -> None:
    """Forget the record (up is stopping: its database and Redis go with it)."""
    (settings.data_dir / FILE).unlink(missing_ok=True)


def load(environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """Fill `environ` with the settings of the running `laambda up` (only variables not set)
    unless LAAMBDA_DATABASE_URL is set; returns the file read, or None."""
    if environ.get("LAAMBDA_DATABASE_URL"):
        return None
    folder = data_dir(environ)
    path = folder / FILE
    if not path.is_file():
        return None
    for name, value in json.loads(path.read_text()).items():
        environ.setdefault(name, value)
    key_file = folder / SECRET_KEY_FILE
    if not environ.get("LAAMBDA_SECRET_KEY") and key_file.is_file():
        environ["LAAMBDA_SECRET_KEY"] = key_file.read_text().strip()
    return path
