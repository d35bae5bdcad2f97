"""The record of a running `laambda up` fills only what the server-side commands were not
given, and not at all when a database is named explicitly."""

from __future__ import annotations

import json
from pathlib import Path

from laambda.local import running


def _record(data: Path) -> None:
    data.mkdir()
    (data / running.FILE).write_text(
        json.dumps(
            {"LAAMBDA_DATABASE_URL": "postgresql+psycopg:///laambda?host=/x", "LAAMBDA_QUEUE": "up"}
        )
    )
    (data / running.SECRET_KEY_FILE).write_text("k" * 40 + "\n")


def test_fills_what_was_not_exported(tmp_path: Path) -> None:
    _record(tmp_path / "data")
    environ = {"LAAMBDA_DATA_DIR": str(tmp_path / "data"), "LAAMBDA_QUEUE": "mine"}
    assert running.load(environ) == tmp_path / "data" / running.FILE
    assert environ == {
        "LAAMBDA_DATA_DIR": str(tmp_path / "data"),
        "LAAMBDA_QUEUE": "mine",
        "LAAMBDA_DATABASE_URL": "postgresql+psycopg:///laambda?host=/x",
        "LAAMBDA_SECRET_KEY": "k" * 40,
    }


def test_an_explicit_database_wins_and_no_record_is_nothing(tmp_path: Path) -> None:
    _record(tmp_path / "data")
    explicit = {
        "LAAMBDA_DATA_DIR": str(tmp_path / "data"),
        "LAAMBDA_DATABASE_URL": "postgresql://db/x",
    }
    assert running.load(explicit) is None
    assert explicit == {
        "LAAMBDA_DATA_DIR": str(tmp_path / "data"),
        "LAAMBDA_DATABASE_URL": "postgresql://db/x",
    }
    elsewhere = {"LAAMBDA_DATA_DIR": str(tmp_path / "other")}
    assert running.load(elsewhere) is None
    assert elsewhere == {"LAAMBDA_DATA_DIR": str(tmp_path / "other")}
