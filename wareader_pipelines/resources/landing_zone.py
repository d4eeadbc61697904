"""The landing zone: where webhook bodies and chat exports arrive, a folder or an S3 prefix.

Both kinds of store share one key layout (see `wareader_pipelines.landing.layout`)
and one interface, so ingestion, sensors and the webhook receiver do not care
which one is configured.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from wareader_pipelines.lib.keys import inside_key
from wareader_pipelines.resources.atomic_file import TEMPORARY_PREFIX, write_atomically
from wareader_pipelines.resources.s3 import s3_client, split_s3_uri


@dataclass(frozen=True, slots=True)
class LandedObject:
    """One file in the landing zone."""

    key: str  # relative to the zone's root, "/"-separated
    size: int
    modified_at: datetime  # UTC


_COPY_BLOCK = 1 << 20  # bytes of an S3 object copied at a time


def _first(pair: tuple[str, os.stat_result]) -> str:
    return pair[0]


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

    def require_root(self) -> None:
        """Refuse a local landing folder that does not exist.

        Reading a missing folder would give empty partitions with every check passing,
        which looks like a quiet day, not like a wrong path.
        """
        if not self.is_s3 and not Path(self.uri).is_dir():
            raise FileNotFoundError(
                f"the landing zone {self.uri} does not exist: create it (webhooks/ and "
                "exports/ go inside) or set WAREADER_LANDING_URI to the right folder"
            )

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[LandedObject]:
        """Objects whose key starts with `prefix`, in key order, after `start_after` if given."""
        if self.is_s3:
            yield from self._list_s3(prefix, start_after)
        else:
            yield from self._list_local(prefix, start_after)

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        if self.is_s3:
            bucket, root = split_s3_uri(self.uri)
            return s3_client(self.s3).get_object(Bucket=bucket, Key=root + key)["Body"].read()
        with open(self._local_file(key), "rb") as file:
            return file.read()

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        """The object under `key` as a seekable binary file, never loaded whole in memory.

        A local file is opened in place; an S3 object is streamed into a temporary file
        first (a chat export is read in several passes, and a zip from its end).
        """
        if not self.is_s3:
            with open(self._local_file(key), "rb") as file:
                yield file
            return
        bucket, root = split_s3_uri(self.uri)
        body = s3_client(self.s3).get_object(Bucket=bucket, Key=root + key)["Body"]
        with tempfile.TemporaryFile() as spooled:
            try:
                shutil.copyfileobj(body, spooled, _COPY_BLOCK)
            finally:
                body.close()
            spooled.seek(0)
            yield spooled  # type: ignore[misc]

    def write(self, key: str, data: bytes) -> None:
        """Store `data` under `key` so that readers never see a partial file."""
        if self.is_s3:
            bucket, root = split_s3_uri(self.uri)
            s3_client(self.s3).put_object(Bucket=bucket, Key=root + key, Body=data)
            return
        write_atomically(self._local_path(key), data)

    def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""
        if self.is_s3:
            bucket, root = split_s3_uri(self.uri)
            listed = s3_client(self.s3).list_objects_v2(Bucket=bucket, Prefix=root + key, MaxKeys=1)
            return any(item["Key"] == root + key for item in listed.get("Contents", []))
        return self._local_path(key).is_file()

    def _local_path(self, key: str) -> Path:
        return Path(self._local_file(key))

    def _local_file(self, key: str) -> str:
        # String checks, not Path.resolve() or even Path(): reading hundreds of thousands of
        # bodies must neither stat every parent folder nor build Path objects each time.
        return os.path.join(self.uri, inside_key(key, store="landing zone"))

    def _list_local(self, prefix: str, start_after: str | None) -> Iterator[LandedObject]:
        root = self.uri
        if not os.path.isdir(root):
            return
        # Walk only the folder the prefix names, then filter by the rest of it.
        folder_key = prefix.rpartition("/")[0]
        folder = os.path.join(root, folder_key) if folder_key else root
        if not os.path.isdir(folder):
            return
        # os.scandir with keys built as strings: at 300k files, os.walk plus a Path and a
        # stat call per file cost several times the listing itself.
        keys: list[tuple[str, os.stat_result]] = []
        pending = [(folder, folder_key + "/" if folder_key else "")]
        while pending:
            directory, key_prefix = pending.pop()
            with os.scandir(directory) as entries:
                for entry in entries:
                    key = key_prefix + entry.name
                    if entry.is_dir():
                        # Like os.walk: symbolic links to folders are not followed. Folders
                        # whose every key sorts before the cursor are skipped: a sensor tick
                        # over years of `dt=` folders then lists only the newest ones.
                        if not entry.is_symlink() and (
                            start_after is None or not _all_before(key, start_after)
                        ):
                            pending.append((entry.path, key + "/"))
                    elif (
                        not entry.name.startswith(TEMPORARY_PREFIX)
                        and key.startswith(prefix)
                        and (start_after is None or key > start_after)
                    ):
                        keys.append((key, entry.stat()))
        keys.sort(key=_first)
        for key, stat in keys:
            yield LandedObject(
                key=key,
                size=stat.st_size,
                modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            )

    def _list_s3(self, prefix: str, start_after: str | None) -> Iterator[LandedObject]:
        bucket, root = split_s3_uri(self.uri)
        arguments = {"Bucket": bucket, "Prefix": root + prefix}
        if start_after is not None:
            arguments["StartAfter"] = root + start_after
        paginator = s3_client(self.s3).get_paginator("list_objects_v2")
        for page in paginator.paginate(**arguments):
            for item in page.get("Contents", []):
                yield LandedObject(
                    key=item["Key"][len(root) :],
                    size=item["Size"],
                    modified_at=item["LastModified"].astimezone(UTC),
                )
