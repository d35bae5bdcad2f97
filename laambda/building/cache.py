"""The dependency cache: zipped dependency trees, shared by every worker through S3.

An entry is keyed by what decides its content (runtime, architecture, builder and the exact
dependency list) and filed under the app, so `DELETE /v1/apps/{app}/build-cache` can purge one
app without touching others. Each entry is `<key>.zip` plus `<key>.json` holding its sha256;
the JSON is written last and acts as the commit marker, and a zip whose bytes do not match it
is deleted and rebuilt, never used. A local copy under the data directory spares the download;
it is used only while the shared entry exists, so a purge from any host reaches every host.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from laambda.building.artifact import file_sha256
from laambda.config import Settings
from laambda.errors import ObjectMissing
from laambda.objectstore import ObjectStore

# 2: normalised trees (build/normalise.py), npm for Lambda's platform; 3: zlib level 4 (artifact.py)
CACHE_FORMAT = 3
PREFIX = "build-cache"


def cache_key(*, runtime: str, architecture: str, builder: str, dependencies: str) -> str:
    """The key of a dependency tree: the hash of everything that decides its bytes."""
    material = json.dumps(
        [CACHE_FORMAT, runtime, architecture, builder, dependencies], separators=(",", ":")
    )
    return hashlib.sha256(material.encode()).hexdigest()


class DependencyCache:
    """One app's cache entries, locally in the data directory and in the object store."""

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore | None,
        app_name: str,
        log: Callable[[str], None],
    ) -> None:
        self.local = settings.data_dir / PREFIX / app_name
        self.store = store
        self.prefix = f"{PREFIX}/{app_name}/"
        self.log = log

    def fetch(self, key: str) -> tuple[Path, dict[str, object]] | None:
        """The verified zip of an entry and its metadata, or None when there is none to trust."""
        path, meta_path = self.local / f"{key}.zip", self.local / f"{key}.json"
        if self.store is not None and not self.store.exists(self.prefix + f"{key}.json"):
            # purged (through any host) or never shared: a local copy is not to be trusted
            path.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            return None
        if path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            if file_sha256(path) == meta.get("sha256"):
                return path, meta
            self.log(" !     the local dependency cache entry is corrupt: rebuilding it")
            path.unlink()
            meta_path.unlink()
        if self.store is None:
            return None
        try:
            meta = json.loads(self.store.get_bytes(self.prefix + f"{key}.json"))
            self.local.mkdir(parents=True, exist_ok=True)
            partial = self.local / f"{key}.zip.{os.getpid()}-{threading.get_ident()}"
            self.store.get_file(self.prefix + f"{key}.zip", partial)
        except ObjectMissing:
            return None
        if file_sha256(partial) != meta.get("sha256"):
            self.log(" !     the shared dependency cache entry is corrupt: rebuilding it")
            partial.unlink()
            self.store.delete(self.prefix + f"{key}.json")
            self.store.delete(self.prefix + f"{key}.zip")
            return None
        partial.replace(path)
        meta_path.write_text(json.dumps(meta))
        return path, meta

    def save(self, key: str, zip_path: Path, *, packages: int) -> None:
        """Keep a freshly built entry locally and share it through the object store."""
        meta = {
            "sha256": file_sha256(zip_path),
            "size": zip_path.stat().st_size,
            "packages": packages,
        }
        self.local.mkdir(parents=True, exist_ok=True)
        # two builds of the app may finish at once: each writes its own file, then renames
        mine = f"{os.getpid()}-{threading.get_ident()}"
        partial, partial_meta = self.local / f"{key}.zip.{mine}", self.local / f"{key}.json.{mine}"
        shutil.copyfile(zip_path, partial)
        partial.replace(self.local / f"{key}.zip")
        partial_meta.write_text(json.dumps(meta))
        partial_meta.replace(self.local / f"{key}.json")
        if self.store is not None:
            self.store.delete(self.prefix + f"{key}.zip")  # a corrupt leftover is never kept
            self.store.put_file(self.prefix + f"{key}.zip", zip_path)
            self.store.put_bytes(self.prefix + f"{key}.json", json.dumps(meta).encode())


def purge_cache(store: ObjectStore | None, settings: Settings, app_name: str | None = None) -> int:
    """Delete an app's cache entries (every app's when app_name is None); how many were removed."""
    local = settings.data_dir / PREFIX / (app_name or "")
    local_entries = len(list(local.rglob("*.zip"))) if local.is_dir() else 0
    shutil.rmtree(local, ignore_errors=True)
    shared_entries = 0
    if store is not None:
        prefix = f"{PREFIX}/{app_name}/" if app_name else f"{PREFIX}/"
        shared_entries = (store.delete_prefix(prefix) + 1) // 2
    return max(local_entries, shared_entries)
