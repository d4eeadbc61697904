"""One S3 client per process per endpoint, shared by the landing zone and the blob store."""

from __future__ import annotations

import pytest
from dagster_aws.s3 import S3Resource

from wareader_pipelines.resources import s3
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.s3 import split_s3_uri
from wareader_pipelines_tests.servers.aws import MotoServer


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://b", "b", ""),
        ("s3://b/", "b", ""),
        ("s3://b/landing", "b", "landing/"),
        ("s3://b/landing/", "b", "landing/"),
        ("s3://b//a/b//", "b", "a/b/"),
    ],
)
def test_split_s3_uri(uri: str, bucket: str, prefix: str) -> None:
    assert split_s3_uri(uri) == (bucket, prefix)


def test_landing_zone_and_blob_store_share_one_client(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3, "_CLIENTS", {})
    built: list[str | None] = []
    get_client = S3Resource.get_client

    def counting_get_client(self: S3Resource) -> object:
        built.append(self.endpoint_url)
        return get_client(self)

    monkeypatch.setattr(S3Resource, "get_client", counting_get_client)
    bucket = moto_server.new_bucket()
    zone = LandingZone(uri=f"s3://{bucket}/landing", s3=moto_server.s3_resource())
    for n in range(20):
        zone.write(f"exports/{n:02}.txt", b"x" * n)
    assert [zone.read(o.key) for o in zone.list("exports/")] == [b"x" * n for n in range(20)]
    store = BlobStore(uri=f"s3://{bucket}/archives", s3=moto_server.s3_resource())
    assert store.put_bytes("a.zip", b"zip", content_type="application/zip", metadata={}).uploaded
    assert built == [moto_server.endpoint_url]
    # Another endpoint gets its own client.
    LandingZone(uri=f"s3://{bucket}/x", s3=moto_server.s3_resource(max_attempts=2)).exists("k")
    assert len(built) == 2
