"""The landing zone: where webhook bodies and chat exports arrive, a folder or an S3 prefix.

Both kinds of store share one key layout (see `wareader_pipelines.landing_layout`)
and one interface, so ingestion, sensors and the webhook receiver do not care
which one is configured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from wareader_pipelines.resources.atomic_file import TEMPORARY_PREFIX, write_atomically


@dataclass(frozen=True, slots=True)
class LandedObject:
    """One file in the landing zone."""

    key: str  # relative to the zone's root, "/"-separated
    size: int
    modified_at: datetime  # UTC


def _split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, (prefix.rstrip("/") + "/") if prefix else ""


def _all_before(folder_key: str, start_after: str) -> bool:
    """Whether every key under `folder_key/` sorts before (or at) `start_after`."""
    prefix = folder_key + "/"
    return prefix < start_after and not start_after.startswith(prefix)


class LandingZone(ConfigurableResource):
    """A local folder or `s3://bucket/prefix` holding `webhooks/` and `exports/`."""

    uri: str = Field(description="A folder path or s3://bucket/prefix.")
    s3: S3Resource = Field(
        default_factory=S3Resource,
        description="S3 client settings, used when uri is s3://.",
    )

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[LandedObject]:
        """Objects whose key starts with `prefix`, in key order, after `start_after` if given."""
        if self.is_s3:
            yield from self._list_s3(prefix, start_after)
        else:
            yield from self._list_local(prefix, start_after)

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        if self.is_s3:
            bucket, root = _split_s3_uri(self.uri)
            return self.s3.get_client().get_object(Bucket=bucket, Key=root + key)["Body"].read()
        return self._local_path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        """Store `data` under `key` so that readers never see a partial file."""
        if self.is_s3:
            bucket, root = _split_s3_uri(self.uri)
            self.s3.get_client().put_object(Bucket=bucket, Key=root + key, Body=data)
            return
        write_atomically(self._local_path(key), data)

    def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""
        if self.is_s3:
            bucket, root = _split_s3_uri(self.uri)
            listed = self.s3.get_client().list_objects_v2(
                Bucket=bucket, Prefix=root + key, MaxKeys=1
            )
            return any(item["Key"] == root + key for item in listed.get("Contents", []))
        return self._local_path(key).is_file()

    def _local_path(self, key: str) -> Path:
        # A string check, not Path.resolve(): reading hundreds of thousands of bodies must not
        # stat every parent folder each time.
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or ".." in parts or "\\" in key:
            raise ValueError(f"key {key!r} escapes the landing zone")
        return Path(self.uri, key)

    def _list_local(self, prefix: str, start_after: str | None) -> Iterator[LandedObject]:
        root = Path(self.uri)
        if not root.is_dir():
            return
        # Walk only the folder the prefix names, then filter by the rest of it.
        folder = root / prefix.rpartition("/")[0] if "/" in prefix else root
        if not folder.is_dir():
            return
        keys: list[tuple[str, os.stat_result]] = []
        for directory, subdirectories, files in os.walk(folder):
            # Skip folders whose every key sorts before the cursor: a sensor tick over years
            # of `dt=` folders then lists only the newest ones.
            subdirectories[:] = sorted(
                name
                for name in subdirectories
                if start_after is None
                or not _all_before(Path(directory, name).relative_to(root).as_posix(), start_after)
            )
            for name in files:
                if name.startswith(TEMPORARY_PREFIX):
                    continue
                path = Path(directory, name)
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    keys.append((key, path.stat()))
        for key, stat in sorted(keys):
            yield LandedObject(
                key=key,
                size=stat.st_size,
                modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            )

    def _list_s3(self, prefix: str, start_after: str | None) -> Iterator[LandedObject]:
        bucket, root = _split_s3_uri(self.uri)
        arguments = {"Bucket": bucket, "Prefix": root + prefix}
        if start_after is not None:
            arguments["StartAfter"] = root + start_after
        paginator = self.s3.get_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(**arguments):
            for item in page.get("Contents", []):
                yield LandedObject(
                    key=item["Key"][len(root) :],
                    size=item["Size"],
                    modified_at=item["LastModified"].astimezone(UTC),
                )
