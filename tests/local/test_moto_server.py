"""moto's server as laambda runs it (laambda/local/moto_server.py): its service packages are
listed once, not for every request."""

from __future__ import annotations

import os

import boto3
import moto
import pytest


def test_moto_lists_its_service_packages_once_however_many_requests(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = os.path.dirname(moto.__file__)
    listed: list[str] = []
    listdir = os.listdir

    def counted(path: str) -> list[str]:
        listed.append(str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counted)
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.list_buckets()  # the session's first request may list it
    first = listed.count(folder)
    for _ in range(5):
        s3.list_buckets()
    assert listed.count(folder) == first
