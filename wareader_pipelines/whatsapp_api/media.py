"""Mirroring the media of webhook messages into the blob store, content-addressed.

Bytes live once per content under `media/sha256/<ab>/<sha256>`; a small index
object `media/ids/<media-id>.json` records what a media id resolved to, so a
media id already stored is never fetched again (re-runs and backfills cost no
Graph calls). Media ids expire 7 days after the message: older ones not yet
stored are reported as expired without a call.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from wareader_pipelines.whatsapp_api.errors import WhatsAppTokenExpiredError

MEDIA_ID_LIFETIME = timedelta(days=7)
STORED = "stored"
ALREADY_STORED = "already_stored"
EXPIRED = "expired"
FAILED = "failed"
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A message that points to media: what the webhook said about it."""

    message_id: str
    media_id: str
    conversation_id: str | None
    sent_at: datetime
    message_type: str
    mime_type: str | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class MediaOutcome:
    """One `message_media` row."""

    message_id: str
    media_id: str
    conversation_id: str | None
    sent_at: datetime
    message_type: str
    status: str
    mime_type: str | None
    bytes: int | None
    sha256: str | None
    blob_key: str | None
    uri: str | None
    error: str | None


class Fetched(Protocol):
    content: bytes
    mime_type: str | None
    sha256: str


class Stored(Protocol):
    uri: str
    key: str


class MediaBlobs(Protocol):
    """The part of the blob store media mirroring needs."""

    def exists(self, key: str) -> bool: ...
    def get_bytes(self, key: str) -> bytes: ...
    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]
    ) -> Stored: ...


def content_key(sha256: str) -> str:
    """Where bytes with this hash are stored."""
    return f"media/sha256/{sha256[:2]}/{sha256}"


def index_key(media_id: str) -> str:
    """Where the index entry of a media id is stored (odd ids are hashed into a safe name)."""
    name = media_id if _PLAIN_ID.match(media_id) else hashlib.sha256(media_id.encode()).hexdigest()
    return f"media/ids/{name}.json"


def mirror_one(
    ref: MediaRef,
    *,
    blobs: MediaBlobs,
    fetch: Callable[[str, str | None], Fetched],
    now: datetime,
) -> MediaOutcome:
    """Store one message's media (or find it stored); a per-media problem becomes a row.

    `fetch(media_id, expected_sha256)` downloads and verifies. Its errors become
    a `failed` row, except an expired token, which every other media would hit
    too: that one is raised.
    """
    index = index_key(ref.media_id)
    if blobs.exists(index):
        entry = json.loads(blobs.get_bytes(index))
        return _outcome(ref, ALREADY_STORED, entry=entry)
    if ref.sent_at < now - MEDIA_ID_LIFETIME:
        return _outcome(ref, EXPIRED, error="media id older than 7 days and never stored")
    try:
        media = fetch(ref.media_id, ref.sha256)
    except WhatsAppTokenExpiredError:
        raise
    except (OSError, RuntimeError, ValueError) as error:
        return _outcome(ref, FAILED, error=str(error)[:500])
    mime = media.mime_type or ref.mime_type or "application/octet-stream"
    stored = blobs.put_bytes(
        content_key(media.sha256),
        media.content,
        content_type=mime,
        metadata={"media-id": ref.media_id, "mime-type": mime},
    )
    entry = {
        "media_id": ref.media_id,
        "mime_type": mime,
        "bytes": len(media.content),
        "sha256": media.sha256,
        "blob_key": stored.key,
        "uri": stored.uri,
    }
    blobs.put_bytes(
        index,
        json.dumps(entry, sort_keys=True).encode("utf-8"),
        content_type="application/json",
        metadata={"media-id": ref.media_id},
    )
    return _outcome(ref, STORED, entry=entry)


def _outcome(
    ref: MediaRef, status: str, *, entry: dict | None = None, error: str | None = None
) -> MediaOutcome:
    entry = entry or {}
    return MediaOutcome(
        message_id=ref.message_id,
        media_id=ref.media_id,
        conversation_id=ref.conversation_id,
        sent_at=ref.sent_at,
        message_type=ref.message_type,
        status=status,
        mime_type=entry.get("mime_type", ref.mime_type),
        bytes=entry.get("bytes"),
        sha256=entry.get("sha256", ref.sha256),
        blob_key=entry.get("blob_key"),
        uri=entry.get("uri"),
        error=error,
    )
