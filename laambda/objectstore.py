"""The object store: source tarballs, artifacts and the dependency cache, in one S3 bucket.

Keys are content-addressed where the content is, so an object once written is never
overwritten: a rollback must never find other bytes under an old key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from laambda.errors import ObjectMissing

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


class ObjectStore:
    """An S3 bucket seen as a store of immutable blobs."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def check(self) -> None:
        """Return when S3 answers for the bucket, whether it exists or is not made yet (the
        first build makes it). Raises botocore's ClientError when S3 refuses (access denied,
        say) and BotoCoreError when it cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING | {"NoSuchBucket"}:
                raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def put_file(self, key: str, path: Path) -> bool:
        """Upload unless the key already holds an object; True when bytes were sent."""
        if self.exists(key):
            return False
        self.client.upload_file(str(path), self.bucket, key)
        return True

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get_file(self, key: str, path: Path) -> None:
        try:
            self.client.download_file(self.bucket, key, str(path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise ObjectMissing(f"s3://{self.bucket}/{key} does not exist") from None
            raise

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise ObjectMissing(f"s3://{self.bucket}/{key} does not exist") from None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under a prefix; returns how many were deleted (0 when the
        bucket itself does not exist yet: nothing was ever stored)."""
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=prefix))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                return 0
            raise
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})  # type: ignore[typeddict-item]
                deleted += len(keys)
        return deleted
