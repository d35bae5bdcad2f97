"""The local cloud's S3 kept on disk: every object written to moto's S3 is also written to
`<data dir>/cloud/s3/<bucket>/<quoted key>` (and removed with the object), and on start the
objects found there are put back into moto, so sources and artifacts survive restarts.

moto's S3 runs in the process that starts it; patching its backend there catches every way an
object is written (PutObject and multipart uploads end in `put_object`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from moto.s3.models import S3Backend, s3_backends

ACCOUNT = "123456789012"
_ORIGINAL = (S3Backend.put_object, S3Backend.delete_object)
_state: dict[str, Path] = {}


def root(data_dir: Path) -> Path:
    return data_dir / "cloud" / "s3"


def _path(base: Path, bucket: str, key: str) -> Path:
    return base / quote(bucket, safe="") / quote(key, safe="")


def find(data_dir: Path, bucket: str, key: str) -> Path | None:
    """The stored copy of s3://bucket/key, if the local cloud has kept one."""
    path = _path(root(data_dir), bucket, key)
    return path if path.is_file() else None


def install(data_dir: Path, region: str = "us-east-1") -> int:
    """Keep moto's S3 objects on disk from now on, after putting back those kept before;
    returns how many were put back."""
    base = root(data_dir)
    base.mkdir(parents=True, exist_ok=True)
    backend = s3_backends[ACCOUNT]["aws"]
    restored = 0
    for bucket_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        bucket = unquote(bucket_dir.name)
        if bucket not in backend.buckets:
            backend.create_bucket(bucket, region)
        for item in sorted(bucket_dir.iterdir()):
            if item.is_file() and not item.name.endswith(".tmp"):
                _ORIGINAL[0](backend, bucket, unquote(item.name), item.read_bytes())
                restored += 1
    _state["root"] = base
    S3Backend.put_object = _put_object  # type: ignore[method-assign]
    S3Backend.delete_object = _delete_object  # type: ignore[method-assign]
    return restored


def uninstall() -> None:
    _state.pop("root", None)
    S3Backend.put_object, S3Backend.delete_object = _ORIGINAL  # type: ignore[method-assign]


def _put_object(self: Any, bucket_name: str, key_name: str, value: bytes, *a: Any, **k: Any) -> Any:
    key = _ORIGINAL[0](self, bucket_name, key_name, value, *a, **k)
    base = _state.get("root")
    if base is not None:
        path = _path(base, bucket_name, key_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.{os.getpid()}.{id(value)}.tmp")
        staging.write_bytes(bytes(value))
        staging.replace(path)  # a reader never sees half an object
    return key


def _delete_object(self: Any, bucket_name: str, key_name: str, *a: Any, **k: Any) -> Any:
    answer = _ORIGINAL[1](self, bucket_name, key_name, *a, **k)
    base = _state.get("root")
    if base is not None:
        _path(base, bucket_name, key_name).unlink(missing_ok=True)
    return answer
