"""The blob store: where archives (and downloaded media) are kept, a folder or an S3 prefix.

Both kinds of store take the same keys, so a deployment moves from the embedded
folder to S3 (or MinIO, or any S3-compatible store) by changing one URI. Writes
are content-addressed in effect: putting bytes identical to what a key already
holds uploads nothing and says so, which is how an unchanged archive is recognised.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from wareader_pipelines.lib.keys import inside_key
from wareader_pipelines.resources.atomic_file import write_atomically
from wareader_pipelines.resources.s3 import s3_client, split_s3_uri

# S3 refuses pre-signed URLs that live longer than seven days (SigV4 limit).
MAX_DOWNLOAD_URL_EXPIRY = timedelta(days=7)
SHA256_METADATA_KEY = "sha256"
LIFECYCLE_RULE_ID_PREFIX = "wareader-archives"
_MEBIBYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What `BlobStore.put_bytes` stored, and whether anything had to be uploaded."""

    uri: str  # s3://bucket/prefix/key or the absolute file path as file:// URI
    key: str
    size: int
    sha256: str
    uploaded: bool  # False when an identical object (same sha256) was already there


class BlobStore(ConfigurableResource):
    """A local folder or `s3://bucket/prefix`: same keys, SSE and storage class on S3."""

    uri: str = Field(description="A folder path or s3://bucket/prefix.")
    storage_class: str = Field(
        default="STANDARD",
        description="S3 storage class of new objects (STANDARD, STANDARD_IA, INTELLIGENT_TIERING...).",
    )
    server_side_encryption: str = Field(
        default="AES256", description="S3 ServerSideEncryption of new objects."
    )
    download_url_expiry_hours: int = Field(
        default=168,
        description="Default lifetime of download links, in hours; S3 caps it at 168 (7 days).",
    )
    multipart_threshold_mb: int = Field(
        default=16,
        description="Objects at least this large (MiB) are uploaded in parts (each at least 5 MiB).",
    )
    lifecycle_transition_ia_days: int = Field(
        default=30, description="Days after which archives move to STANDARD_IA."
    )
    lifecycle_transition_glacier_days: int = Field(
        default=90, description="Days after which archives move to GLACIER."
    )
    lifecycle_expiration_days: int = Field(
        default=365, description="Days after which archives are deleted."
    )
    s3: S3Resource = Field(
        default_factory=S3Resource,
        description="S3 client settings (endpoint URL, region, retries), used when uri is s3://.",
    )

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def default_download_url_expiry(self) -> timedelta:
        """The configured link lifetime, clamped to the S3 limit."""
        return min(timedelta(hours=self.download_url_expiry_hours), MAX_DOWNLOAD_URL_EXPIRY)

    # -- objects ---------------------------------------------------------------------------

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]
    ) -> StoredBlob:
        """Store `data` under `key`, unless the same bytes are already there.

        On S3 the object gets SSE, the configured storage class and `metadata` plus
        its sha256; large objects go up in parts. Throttling and 5xx answers are
        retried by the client (botocore standard mode, up to `s3.max_attempts` retries).
        """
        key = inside_key(key, store="blob store")
        sha256 = hashlib.sha256(data).hexdigest()
        if self.is_s3:
            uploaded = self._put_s3(key, data, sha256, content_type, metadata)
        else:
            uploaded = self._put_local(key, data, sha256)
        return StoredBlob(
            uri=self.uri_of(key), key=key, size=len(data), sha256=sha256, uploaded=uploaded
        )

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        key = inside_key(key, store="blob store")
        if self.is_s3:
            return self._head(key) is not None
        return self._local_path(key).is_file()

    def get_bytes(self, key: str) -> bytes:
        """The bytes stored under `key` (KeyError if there are none)."""
        key = inside_key(key, store="blob store")
        if self.is_s3:
            bucket, root = split_s3_uri(self.uri)
            try:
                response = self._client().get_object(Bucket=bucket, Key=root + key)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                    raise KeyError(key) from error
                raise
            return response["Body"].read()
        path = self._local_path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.read_bytes()

    def uri_of(self, key: str) -> str:
        """The stable address of `key`: `s3://bucket/prefix/key` or a `file://` URI."""
        if self.is_s3:
            bucket, root = split_s3_uri(self.uri)
            return f"s3://{bucket}/{root}{key}"
        return self._local_path(key).as_uri()

    def download_url(self, key: str, *, expires_in: timedelta) -> tuple[str, datetime]:
        """A link to fetch `key` and when it stops working (at most 7 days from now).

        S3 gives a pre-signed GET URL; the local store gives a `file://` URI,
        which does not expire but is reported with the same expiry for uniformity.
        """
        key = inside_key(key, store="blob store")
        expires_in = max(min(expires_in, MAX_DOWNLOAD_URL_EXPIRY), timedelta(seconds=1))
        expires_at = datetime.now(UTC).replace(microsecond=0) + expires_in
        if not self.is_s3:
            return self._local_path(key).as_uri(), expires_at
        bucket, root = split_s3_uri(self.uri)
        url = self._presign_client().generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": root + key},
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return url, expires_at

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def lifecycle_rule_id(self) -> str:
        """The id of the one lifecycle rule this store owns: one per prefix."""
        _, root = split_s3_uri(self.uri)
        suffix = root.strip("/").replace("/", "-")
        return f"{LIFECYCLE_RULE_ID_PREFIX}-{suffix}" if suffix else LIFECYCLE_RULE_ID_PREFIX

    def lifecycle_rule(self) -> dict[str, Any]:
        """The rule of the seed: STANDARD_IA after 30 days, GLACIER after 90, gone after 365."""
        _, root = split_s3_uri(self.uri)
        return {
            "ID": self.lifecycle_rule_id,
            "Status": "Enabled",
            "Filter": {"Prefix": root},
            "Transitions": [
                {"Days": self.lifecycle_transition_ia_days, "StorageClass": "STANDARD_IA"},
                {"Days": self.lifecycle_transition_glacier_days, "StorageClass": "GLACIER"},
            ],
            "Expiration": {"Days": self.lifecycle_expiration_days},
        }

    def ensure_lifecycle_rules(self) -> bool:
        """Make the bucket carry this store's lifecycle rule; True if it had to be written.

        Idempotent: the rule is written only when missing or different, and every
        rule with another id (someone else's) is kept as it is. A local store has
        no lifecycle and returns False.
        """
        if not self.is_s3:
            return False
        bucket, _ = split_s3_uri(self.uri)
        client = self._client()
        try:
            rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        wanted = self.lifecycle_rule()
        ours = [rule for rule in rules if rule.get("ID") == wanted["ID"]]
        if len(ours) == 1 and _same_rule(ours[0], wanted):
            return False
        others = [_writable_rule(rule) for rule in rules if rule.get("ID") != wanted["ID"]]
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [*others, wanted]}
        )
        return True

    # -- internals ---------------------------------------------------------------------------

    def _client(self) -> Any:
        return s3_client(self.s3)

    def _presign_client(self) -> Any:
        """A client with the same settings that signs with SigV4 (the 7-day kind)."""
        return s3_client(self.s3, presign=True)

    def _head(self, key: str) -> dict[str, Any] | None:
        bucket, root = split_s3_uri(self.uri)
        try:
            return self._client().head_object(Bucket=bucket, Key=root + key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def _put_s3(
        self, key: str, data: bytes, sha256: str, content_type: str, metadata: dict[str, str]
    ) -> bool:
        existing = self._head(key)
        if existing is not None and existing.get("Metadata", {}).get(SHA256_METADATA_KEY) == sha256:
            return False
        bucket, root = split_s3_uri(self.uri)
        threshold = max(self.multipart_threshold_mb, 5) * _MEBIBYTE
        self._client().upload_fileobj(
            io.BytesIO(data),
            bucket,
            root + key,
            ExtraArgs={
                "ContentType": content_type,
                "ServerSideEncryption": self.server_side_encryption,
                "StorageClass": self.storage_class,
                "Metadata": {**metadata, SHA256_METADATA_KEY: sha256},
            },
            Config=TransferConfig(
                multipart_threshold=threshold,
                multipart_chunksize=threshold,
                use_threads=False,
            ),
        )
        return True

    def _put_local(self, key: str, data: bytes, sha256: str) -> bool:
        target = self._local_path(key)
        if target.is_file() and _file_sha256(target) == sha256:
            return False
        write_atomically(target, data)
        return True

    def _local_path(self, key: str) -> Path:
        root = Path(self.uri).resolve()
        path = (root / key).resolve()
        if root not in path.parents:
            raise ValueError(f"blob key {key!r} escapes the store's folder")
        return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_MEBIBYTE), b""):
            digest.update(block)
    return digest.hexdigest()


def _same_rule(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a rule read back from S3 says what `wanted` says (S3 adds empty fields)."""

    def essence(rule: dict[str, Any]) -> tuple[object, ...]:
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        transitions = sorted(
            (int(t["Days"]), t["StorageClass"]) for t in rule.get("Transitions", [])
        )
        expiration = rule.get("Expiration", {}).get("Days")
        return (rule.get("Status"), prefix, tuple(transitions), expiration)

    return essence(found) == essence(wanted)


def _writable_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule read back from S3 in the shape the put call accepts (drops read-only noise)."""
    rule = dict(rule)
    if "Filter" in rule and "Prefix" in rule:
        rule.pop("Prefix")
    return rule
