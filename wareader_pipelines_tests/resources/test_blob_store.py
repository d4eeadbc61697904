"""The blob store on a local folder and on S3 (moto in server mode)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from wareader_pipelines.resources.blob_store import MAX_DOWNLOAD_URL_EXPIRY, BlobStore
from wareader_pipelines_tests.servers.aws import FlakyProxy, MotoServer

ZIP = "application/zip"


def test_local_store_writes_once_and_reports_unchanged_bytes(tmp_path: Path) -> None:
    store = BlobStore(uri=str(tmp_path / "archives"))
    first = store.put_bytes("archives/c1/2024-05.zip", b"zip-bytes", content_type=ZIP, metadata={})
    again = store.put_bytes("archives/c1/2024-05.zip", b"zip-bytes", content_type=ZIP, metadata={})
    changed = store.put_bytes("archives/c1/2024-05.zip", b"other", content_type=ZIP, metadata={})

    assert first.uploaded and not again.uploaded and changed.uploaded
    assert first.sha256 == hashlib.sha256(b"zip-bytes").hexdigest() and first.size == 9
    assert (tmp_path / "archives" / "archives" / "c1" / "2024-05.zip").read_bytes() == b"other"
    assert store.exists("archives/c1/2024-05.zip") and not store.exists("archives/c2/x.zip")
    assert store.get_bytes("archives/c1/2024-05.zip") == b"other"
    asked_at = datetime.now(UTC)
    url, expires_at = store.download_url("archives/c1/2024-05.zip", expires_in=timedelta(days=30))
    assert url.startswith("file://") and url.endswith("/archives/c1/2024-05.zip")
    assert Path(url.removeprefix("file://")).read_bytes() == b"other"
    assert abs(expires_at - (asked_at + MAX_DOWNLOAD_URL_EXPIRY)) < timedelta(seconds=5)
    assert store.ensure_lifecycle_rules() is False
    assert not [p for p in (tmp_path / "archives").rglob(".incoming-*")]


@pytest.mark.parametrize("key", ["../../x", "media/../../x", "/etc/x", "a\\..\\..\\x", "a//b", ""])
def test_local_store_refuses_keys_that_leave_its_folder(tmp_path: Path, key: str) -> None:
    store = BlobStore(uri=str(tmp_path / "store"))
    with pytest.raises(ValueError):
        store.put_bytes(key, b"x", content_type="text/plain", metadata={})
    assert not (tmp_path / "x").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_s3_object_has_sse_storage_class_and_metadata(moto_server: MotoServer) -> None:
    bucket = moto_server.new_bucket()
    store = BlobStore(
        uri=f"s3://{bucket}/exports/prod",
        storage_class="STANDARD_IA",
        s3=moto_server.s3_resource(),
    )
    stored = store.put_bytes(
        "archives/c1/2024-05.zip",
        b"PK-archive",
        content_type=ZIP,
        metadata={"conversation": "c1", "period": "2024-05"},
    )

    head = moto_server.client().head_object(
        Bucket=bucket, Key="exports/prod/archives/c1/2024-05.zip"
    )
    assert stored.uri == f"s3://{bucket}/exports/prod/archives/c1/2024-05.zip"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ContentType"] == ZIP
    assert head["Metadata"] == {
        "conversation": "c1",
        "period": "2024-05",
        "sha256": hashlib.sha256(b"PK-archive").hexdigest(),
    }
    assert store.exists("archives/c1/2024-05.zip")
    assert store.get_bytes("archives/c1/2024-05.zip") == b"PK-archive"
    with pytest.raises(KeyError):
        store.get_bytes("archives/c1/missing.zip")


def test_s3_presigned_url_returns_the_same_bytes(moto_server: MotoServer) -> None:
    bucket = moto_server.new_bucket()
    store = BlobStore(uri=f"s3://{bucket}", s3=moto_server.s3_resource())
    data = os.urandom(4096)
    store.put_bytes("archives/c1/2024-05.zip", data, content_type=ZIP, metadata={})

    asked_at = datetime.now(UTC)
    url, expires_at = store.download_url("archives/c1/2024-05.zip", expires_in=timedelta(days=9))

    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=604800" in url  # clamped to the 7-day S3 limit
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200 and response.content == data
    assert abs(expires_at - (asked_at + timedelta(days=7))) < timedelta(seconds=5)


def test_s3_unchanged_put_uploads_nothing(moto_server: MotoServer, flaky_s3: FlakyProxy) -> None:
    bucket = moto_server.new_bucket()
    store = BlobStore(
        uri=f"s3://{bucket}/p", s3=moto_server.s3_resource(endpoint_url=flaky_s3.endpoint_url)
    )
    first = store.put_bytes("k.zip", b"same", content_type=ZIP, metadata={})
    puts_after_first = flaky_s3.count("PUT")
    second = store.put_bytes("k.zip", b"same", content_type=ZIP, metadata={})

    assert first.uploaded and not second.uploaded
    assert puts_after_first == 1 and flaky_s3.count("PUT") == 1


def test_s3_large_archive_goes_up_in_parts(moto_server: MotoServer) -> None:
    bucket = moto_server.new_bucket()
    store = BlobStore(uri=f"s3://{bucket}", multipart_threshold_mb=5, s3=moto_server.s3_resource())
    data = os.urandom(11 * 1024 * 1024)

    stored = store.put_bytes("big.zip", data, content_type=ZIP, metadata={"period": "2024-05"})

    head = moto_server.client().head_object(Bucket=bucket, Key="big.zip")
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 1 MiB
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"]["sha256"] == stored.sha256
    assert store.get_bytes("big.zip") == data


def test_s3_server_errors_are_retried(moto_server: MotoServer, flaky_s3: FlakyProxy) -> None:
    bucket = moto_server.new_bucket()
    flaky_s3.failures, flaky_s3.status = 2, 503
    flaky_s3.matches = lambda method, path: method == "PUT"
    store = BlobStore(
        uri=f"s3://{bucket}", s3=moto_server.s3_resource(endpoint_url=flaky_s3.endpoint_url)
    )

    stored = store.put_bytes("k.zip", b"bytes", content_type=ZIP, metadata={})

    assert stored.uploaded
    assert [status for method, _, status in flaky_s3.seen if method == "PUT"] == [503, 503, 200]
    assert moto_server.client().get_object(Bucket=bucket, Key="k.zip")["Body"].read() == b"bytes"


def test_s3_gives_up_after_its_attempts(moto_server: MotoServer, flaky_s3: FlakyProxy) -> None:
    bucket = moto_server.new_bucket()
    flaky_s3.failures, flaky_s3.status = 100, 500
    flaky_s3.matches = lambda method, path: method == "PUT"
    store = BlobStore(
        uri=f"s3://{bucket}",
        s3=moto_server.s3_resource(endpoint_url=flaky_s3.endpoint_url, max_attempts=2),
    )
    with pytest.raises(Exception, match=r"500|InternalError|ServiceUnavailable"):
        store.put_bytes("k.zip", b"bytes", content_type=ZIP, metadata={})
    assert flaky_s3.count("PUT") == 3  # the first try and max_attempts retries (botocore)


def test_lifecycle_rules_applied_twice_are_as_specified(moto_server: MotoServer) -> None:
    bucket = moto_server.new_bucket()
    client = moto_server.client()
    foreign = {
        "ID": "someone-elses-logs",
        "Status": "Enabled",
        "Filter": {"Prefix": "logs/"},
        "Expiration": {"Days": 7},
    }
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [foreign]}
    )
    store = BlobStore(uri=f"s3://{bucket}/archives", s3=moto_server.s3_resource())

    assert store.ensure_lifecycle_rules() is True
    assert store.ensure_lifecycle_rules() is False

    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert set(rules) == {"someone-elses-logs", "wareader-archives-archives"}
    ours = rules["wareader-archives-archives"]
    assert ours["Status"] == "Enabled"
    assert ours["Filter"]["Prefix"] == "archives/"
    assert [(t["Days"], t["StorageClass"]) for t in ours["Transitions"]] == [
        (30, "STANDARD_IA"),
        (90, "GLACIER"),
    ]
    assert ours["Expiration"]["Days"] == 365
    assert rules["someone-elses-logs"]["Expiration"]["Days"] == 7
    assert rules["someone-elses-logs"]["Filter"]["Prefix"] == "logs/"


def test_lifecycle_rule_is_rewritten_when_its_days_change(moto_server: MotoServer) -> None:
    bucket = moto_server.new_bucket()
    BlobStore(uri=f"s3://{bucket}", s3=moto_server.s3_resource()).ensure_lifecycle_rules()
    longer = BlobStore(
        uri=f"s3://{bucket}", lifecycle_expiration_days=730, s3=moto_server.s3_resource()
    )

    assert longer.ensure_lifecycle_rules() is True
    rules = moto_server.client().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(r["ID"], r["Expiration"]["Days"]) for r in rules] == [("wareader-archives", 730)]
