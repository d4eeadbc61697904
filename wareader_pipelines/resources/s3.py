"""S3 for the landing zone and the blob store: one client per process per endpoint, and URIs.

Building a boto3 client costs 0.2 to 1 s, so the client for a given set of settings
(endpoint, region, credentials, retries) is built once per process and shared by every
resource that talks to that endpoint; boto3 clients are safe to share between threads.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from dagster_aws.s3 import S3Resource


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Bucket and key prefix ("" or ending in "/") of `s3://bucket/prefix`."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, (prefix.strip("/") + "/") if prefix.strip("/") else ""


def _settings_of(s3: S3Resource) -> tuple[object, ...]:
    return (
        s3.profile_name,
        s3.region_name,
        s3.endpoint_url,
        s3.use_ssl,
        s3.verify,
        s3.aws_access_key_id,
        s3.aws_secret_access_key,
        s3.aws_session_token,
        s3.max_attempts,
        s3.use_unsigned_session,
    )


_CLIENTS: dict[tuple[object, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def s3_client(s3: S3Resource, *, presign: bool = False) -> Any:
    """dagster-aws's client for these settings, built once per process and shared by the
    landing zone and the blob store (building one costs 0.2 to 1 s).

    Retries: botocore standard mode, `max_attempts` retries of throttling and 5xx
    answers with exponential backoff. The pre-signing client has the same settings but
    signs with SigV4, whose URLs S3 accepts for up to 7 days.
    """
    key = (*_settings_of(s3), presign)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            if not presign:
                _CLIENTS[key] = s3.get_client()
            else:
                _CLIENTS[key] = boto3.session.Session(profile_name=s3.profile_name).client(
                    "s3",
                    region_name=s3.region_name,
                    endpoint_url=s3.endpoint_url,
                    use_ssl=s3.use_ssl,
                    verify=s3.verify,
                    aws_access_key_id=s3.aws_access_key_id,
                    aws_secret_access_key=s3.aws_secret_access_key,
                    aws_session_token=s3.aws_session_token,
                    config=Config(signature_version="s3v4"),
                )
        return _CLIENTS[key]
