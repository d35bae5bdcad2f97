from pathlib import Path

import pytest

from laambda.errors import ObjectMissing
from laambda.objectstore import ObjectStore


def test_put_file_never_overwrites(object_store: ObjectStore, tmp_path: Path) -> None:
    first = tmp_path / "a"
    first.write_bytes(b"one")
    second = tmp_path / "b"
    second.write_bytes(b"two")
    assert object_store.put_file("k", first) is True
    assert object_store.put_file("k", second) is False
    assert object_store.get_bytes("k") == b"one"
    with pytest.raises(ObjectMissing, match="does not exist"):
        object_store.get_bytes("missing")


def test_purging_a_bucket_never_made_purges_nothing(object_store: ObjectStore) -> None:
    missing = ObjectStore(object_store.client, object_store.bucket + "-never-made")
    assert missing.delete_prefix("build-cache/") == 0
