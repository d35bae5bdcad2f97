"""`POST /v1/apps/{app}/builds` refuses a hostile or malformed tarball before keeping it, in
the API's one error shape, naming the entry and the rule."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import Auth

GZIP = {"Content-Type": "application/gzip"}


def _tgz(*members: tarfile.TarInfo, data: bytes = b"print(1)\n") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in members:
            if info.isfile():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


@pytest.fixture
def limits(api: FastAPI) -> None:
    """Small caps, so refusing them needs no large upload."""
    api.state.settings = api.state.settings.model_copy(
        update={"max_source_bytes": 4096, "max_source_entries": 5}
    )


@pytest.mark.usefixtures("app_row", "limits")
@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (
            _tgz(_member("app.py"), _member("/etc/cron.d/x")),
            422,
            "the source archive holds an absolute path '/etc/cron.d/x'",
        ),
        (_tgz(_member("a/../../x.py")), 422, "the source archive holds a path with '..'"),
        (
            _tgz(_member("dev/zero", tarfile.CHRTYPE)),
            422,
            "the source archive holds 'dev/zero', a device, FIFO or other special file",
        ),
        (
            _tgz(_member("fifo", tarfile.FIFOTYPE)),
            422,
            "the source archive holds 'fifo', a device, FIFO or other special file",
        ),
        (
            _tgz(_member("key", tarfile.SYMTYPE, "../../root/.ssh/id_rsa")),
            422,
            "the source archive holds a symlink 'key' -> '../../root/.ssh/id_rsa', which points "
            "outside the source",
        ),
        (
            _tgz(_member("shadow", tarfile.LNKTYPE, "/etc/shadow")),
            422,
            "the source archive holds a hard link 'shadow' to '/etc/shadow'",
        ),
        (
            _tgz(*[_member(f"f{i}.py") for i in range(6)]),
            422,
            "the source archive holds more than 5 files, folders and links, over the limit",
        ),
        (
            gzip.compress(bytes(range(256)) * 64, compresslevel=0),
            413,
            "the source archive is over the limit of 4 KB (LAAMBDA_MAX_SOURCE_BYTES)",
        ),
        (
            _tgz(
                _member("app.py"),
                _member("a", tarfile.SYMTYPE, "b"),
                _member("b", tarfile.SYMTYPE, "a"),
            ),
            422,
            "the source archive holds a symlink 'a' -> 'b', which loops (the links lead into one "
            "another, so it points at nothing); refused: remove it",
        ),
        (
            _tgz(_member("a" * 5000)),
            422,
            f"the source archive holds a path '{'a' * 40}… (5000 bytes)' over the limit of 3072 "
            "bytes for a whole path; refused: shorten it",
        ),
        (b"PK\x03\x04 a zip file", 422, "the upload is not a gzip'd tar file"),
        (b"", 422, "the upload is empty"),
    ],
    ids=[
        "absolute",
        "dotdot",
        "device",
        "fifo",
        "symlink-out",
        "hardlink-out",
        "entries",
        "too-big",
        "symlink-loop",
        "name-too-long",
        "not-gzip",
        "empty",
    ],
)
def test_refused(client: TestClient, auth: Auth, body: bytes, status: int, detail: str) -> None:
    answer = client.post("/v1/apps/thumbs/builds", content=body, headers=auth | GZIP)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == "SourceRefused"
    assert answer.json()["detail"].startswith(detail)
    assert client.get("/v1/apps/thumbs/builds", headers=auth).json() == []


@pytest.mark.usefixtures("app_row")
def test_refuses_another_content_type(client: TestClient, auth: Auth) -> None:
    answer = client.post(
        "/v1/apps/thumbs/builds", content=b"{}", headers=auth | {"Content-Type": "application/json"}
    )
    assert answer.status_code == 415
    assert answer.json()["detail"].startswith(
        "send the source as a gzip'd tar file with Content-Type application/gzip"
    )


@pytest.mark.usefixtures("app_row")
def test_refuses_a_commit_that_is_not_a_sha(client: TestClient, auth: Auth) -> None:
    answer = client.post(
        "/v1/apps/thumbs/builds?commit=main", content=_tgz(_member("a.py")), headers=auth | GZIP
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("commit:")


def test_refuses_strangers_before_reading(client: TestClient, auth: Auth) -> None:
    answer = client.post("/v1/apps/nope/builds", content=b"x", headers=auth | GZIP)
    assert answer.status_code == 404
