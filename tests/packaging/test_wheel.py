"""The built wheel is all a server needs: installed into a fresh virtualenv outside the
checkout, with the locked dependencies and without the `local` extra, `laambda --help` answers
and `laambda migrate` creates the schema in a fresh database; the one-machine parts (moto,
fakeredis, embedded PostgreSQL, lupa, awslambdaric) are not there and nothing server-side
needs them."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from laambda.db.base import Model
from laambda.local import PACKAGES
from tests.support.database import empty_database

ROOT = Path(__file__).resolve().parents[2]
UV = [sys.executable, "-m", "uv"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(
    command: list[str], *, status: int = 0, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run `command`, asserting it exits with `status`."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=480, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == status, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done  # type: ignore[no-any-return]


@pytest.fixture
def fresh_database() -> Iterator[str]:
    with empty_database("laambda_wheel") as url:
        yield url


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv (outside the checkout) holding the wheel and the locked dependencies of a
    production install; returns its bin folder. uv's cache makes a second run quick."""
    where = tmp_path_factory.mktemp("wheel")
    assert ROOT not in where.parents
    dist, venv = where / "dist", where / "venv"
    _run([*UV, "build", "--wheel", "--out-dir", str(dist), str(ROOT)], cwd=where)
    (wheel,) = dist.glob("laambda-*.whl")
    requirements = where / "requirements.txt"
    _run(
        [*UV, "export", "--frozen", "--no-emit-project", "--no-dev", "-o", str(requirements)],
        cwd=ROOT,
    )
    _run([*UV, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=where)
    python = str(venv / "bin" / "python")
    _run([*UV, "pip", "install", "--python", python, "--require-hashes", "-r", str(requirements)])
    _run([*UV, "pip", "install", "--python", python, "--no-deps", str(wheel)])
    return venv / "bin"


def _env(home: Path, database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LAAMBDA_", "PYTHON"))}
    return clean | {
        "HOME": str(home),
        "LAAMBDA_DATA_DIR": str(home / "data"),
        "LAAMBDA_DATABASE_URL": database_url,
        "LAAMBDA_SECRET_KEY": "x" * 40,
    }


def test_the_wheel_migrates_a_fresh_database_without_a_checkout(
    installed: Path, fresh_database: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, fresh_database)
    helped = _run([str(installed / "laambda"), "--help"], cwd=tmp_path, env=env)
    for command in ("migrate", "api", "worker", "receiver"):
        assert command in helped.stdout
    migrated = _run([str(installed / "laambda"), "migrate"], cwd=tmp_path, env=env)
    assert migrated.stdout.startswith("database migrated from empty to revision "), migrated
    again = _run([str(installed / "laambda"), "migrate"], cwd=tmp_path, env=env)
    assert again.stdout.startswith("database is up to date (revision "), again
    version = _run([str(installed / "laambda"), "--version"], cwd=tmp_path, env=env)
    assert version.stdout == f"laambda {_project_version()}\n"
    engine = create_engine(fresh_database)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert set(Model.metadata.tables) | {"alembic_version"} <= tables


def test_a_production_install_has_and_needs_none_of_the_local_parts(
    installed: Path, tmp_path: Path
) -> None:
    """The local packages are absent, and every server-side command's module imports."""
    probe = (
        "import importlib.util, sys\n"
        f"local = {PACKAGES!r}\n"
        "present = [name for name in local if importlib.util.find_spec(name) is not None]\n"
        "assert not present, present\n"
        "import laambda.cli.main, laambda.server_commands, laambda.worker.main\n"
        "import laambda.receiver.server\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(local))\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    env = _env(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    done = _run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=env)
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("command", ["migrate", "api"])
def test_a_database_that_does_not_answer_is_one_line(
    installed: Path, tmp_path: Path, command: str
) -> None:
    env = _env(tmp_path, "postgresql+psycopg://nobody:hush@127.0.0.1:1/none")
    done = _run([str(installed / "laambda"), command], status=1, cwd=tmp_path, env=env)
    assert done.stderr.startswith(
        "laambda: cannot reach the database at postgresql+psycopg://nobody:***@127.0.0.1:1/none"
    ), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr  # no traceback
    assert "hush" not in done.stderr


def test_laambda_up_without_the_local_extra_says_what_to_install(
    installed: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    done = _run([str(installed / "laambda"), "up"], status=2, cwd=tmp_path, env=env)
    assert done.stderr == (
        f"laambda: `laambda up` needs the one-machine parts ({', '.join(PACKAGES)} not "
        "installed): pip install 'laambda[local]'\n"
    )


def _project_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])
