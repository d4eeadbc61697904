"""Publishing a month of archives: build each conversation's zip, store it, and tell
people and systems about it, once per distinct archive.

An unchanged month gives the same zip bytes (the build time of unchanged contents
is carried over from the previous row), so the blob store uploads nothing and no
notice goes out again. The download link is never stored: it is a credential.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from wareader_pipelines.archives.conversation_archive import (
    ArchivePeriod,
    archive_key,
    prepare_archive,
)
from wareader_pipelines.archives.export_media import ExportZips, collect_export_media
from wareader_pipelines.archives.notice import ExportNotice
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.email import EmailNotifier
from wareader_pipelines.resources.export_webhooks import ExportWebhooks, WebhookDelivery

ZIP_CONTENT_TYPE = "application/zip"
NOT_NEEDED = "not needed: archive unchanged and already notified"


@dataclass(frozen=True, slots=True)
class PreviousArchive:
    """What the table says about a conversation's archive of a month, from the last run."""

    sha256: str
    content_sha256: str
    built_at: datetime | None
    notified_at: datetime | None
    download_url_expires_at: datetime | None
    email_status: str | None
    webhook_status: str | None


@dataclass(slots=True)
class PublishedArchive:
    """One row of `conversation_archives` and what happened while publishing it."""

    row: dict[str, object]
    notice_sent: bool = False
    email_note: str | None = None  # e.g. "no recipient configured" for the metadata
    failed_webhooks: list[WebhookDelivery] = field(default_factory=list)
    media_notes: list[str] = field(default_factory=list)  # export attachments left out


def _moment(value: object) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return pd.Timestamp(value).tz_convert(UTC).to_pydatetime()  # type: ignore[no-any-return]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def previous_archives(frame: pd.DataFrame) -> dict[tuple[str, str], PreviousArchive]:
    """The previous rows keyed by (conversation_id, period)."""
    found: dict[tuple[str, str], PreviousArchive] = {}
    for row in frame.to_dict("records"):
        found[(str(row["conversation_id"]), str(row["period"]))] = PreviousArchive(
            sha256=str(row.get("sha256") or ""),
            content_sha256=str(row.get("content_sha256") or ""),
            built_at=_moment(row.get("built_at")),
            notified_at=_moment(row.get("notified_at")),
            download_url_expires_at=_moment(row.get("download_url_expires_at")),
            email_status=_text(row.get("email_status")),
            webhook_status=_text(row.get("webhook_status")),
        )
    return found


def _webhook_status(deliveries: list[WebhookDelivery]) -> str:
    if not deliveries:
        return "no webhook configured"
    delivered = sum(d.delivered for d in deliveries)
    failed = [f"{d.url} ({d.error})" for d in deliveries if not d.delivered]
    status = f"delivered {delivered}/{len(deliveries)}"
    return status + (f"; failed: {', '.join(failed)}" if failed else "")


def report_pngs(reports: pd.DataFrame) -> dict[str, bytes]:
    """conversation id → report.png bytes, from `conversation_reports` rows that have one."""
    if reports.empty or "png_base64" not in reports.columns:
        return {}
    rendered = reports.dropna(subset=["png_base64"])
    return {
        str(conversation_id): base64.b64decode(encoded)
        for conversation_id, encoded in zip(
            rendered["conversation_id"], rendered["png_base64"], strict=True
        )
    }


def publish_month(
    *,
    messages: pd.DataFrame,
    summaries: pd.DataFrame,
    period: ArchivePeriod,
    previous: Mapping[tuple[str, str], PreviousArchive],
    blob_store: BlobStore,
    email: EmailNotifier,
    webhooks: ExportWebhooks,
    pipeline_version: str,
    allow_phone_numbers: bool,
    phone_region: str,
    default_timezone: str,
    now: datetime,
    read_export: Callable[[str], bytes] | ExportZips | None = None,
    reports: Mapping[str, bytes] | None = None,
) -> list[PublishedArchive]:
    """One archive per conversation with messages in `period`, stored and announced.

    With `read_export` (landing-zone key → bytes, or the `ExportZips` of a build over
    several months, so that each zip is read once per build), the attachments that export
    messages reference are taken from their export zips, verified, into `media/`.
    `reports` (conversation id → PNG) adds each conversation's `report.png`.
    """
    published: list[PublishedArchive] = []
    if messages.empty:
        return published
    summary_groups = (
        dict(tuple(summaries.groupby("conversation_id", sort=False)))
        if not summaries.empty and "conversation_id" in summaries.columns
        else {}
    )
    export_media = collect_export_media(messages, read_export) if read_export else {}
    for conversation_id, conversation in messages.groupby("conversation_id", sort=True):
        conversation_id = str(conversation_id)
        media = export_media.get(conversation_id)
        contents = prepare_archive(
            conversation_id=conversation_id,
            messages=conversation,
            summaries=summary_groups.get(conversation_id, summaries.iloc[0:0]),
            period=period,
            pipeline_version=pipeline_version,
            allow_phone_numbers=allow_phone_numbers,
            phone_region=phone_region,
            default_timezone=default_timezone,
            media=media.files if media else None,
            report_png=(reports or {}).get(conversation_id),
        )
        before = previous.get((conversation_id, period.label))
        built_at = (
            before.built_at
            if before is not None
            and before.built_at is not None
            and before.content_sha256 == contents.content_sha256
            else now
        )
        key = archive_key(conversation_id, period)
        stored = blob_store.put_bytes(
            key,
            contents.to_zip(built_at),
            content_type=ZIP_CONTENT_TYPE,
            metadata={"conversation": conversation_id, "period": period.label},
        )
        result = PublishedArchive(
            row={
                "conversation_id": conversation_id,
                "period": period.label,
                "period_start": period.start,
                "uri": stored.uri,
                "bytes": stored.size,
                "sha256": stored.sha256,
                "content_sha256": contents.content_sha256,
                "message_count": contents.message_count,
                "summary_count": contents.summary_count,
                "media_count": contents.media_count,
                "phone_numbers": "included" if allow_phone_numbers else "redacted",
                "built_at": built_at,
                "uploaded": stored.uploaded,
            },
            media_notes=[f"{conversation_id} {period.label}: {n}" for n in media.skipped]
            if media
            else [],
        )
        already_told = (
            before is not None and before.sha256 == stored.sha256 and before.notified_at is not None
        )
        if not stored.uploaded and already_told:
            assert before is not None
            result.row |= {
                "download_url_expires_at": before.download_url_expires_at,
                "notified_at": before.notified_at,
                "email_status": before.email_status,
                "webhook_status": before.webhook_status,
            }
            published.append(result)
            continue
        url, expires_at = blob_store.download_url(
            key, expires_in=blob_store.default_download_url_expiry
        )
        notice = ExportNotice(
            conversation_id=conversation_id,
            conversation_name=contents.conversation_name,
            period=period.label,
            uri=stored.uri,
            download_url=url,
            expires_at=expires_at,
            sha256=stored.sha256,
            bytes=stored.size,
            message_count=contents.message_count,
            summary_count=contents.summary_count,
        )
        recipients = email.recipients_for(conversation_id)
        email_sent = False
        if not recipients:
            email_status = "no recipient configured"
            result.email_note = f"{conversation_id} {period.label}: no recipient configured"
        else:
            try:
                email.send_notice(notice, recipients=recipients)
            except Exception as failure:  # recorded; the next rebuild tries again
                email_status = f"failed: {type(failure).__name__}: {str(failure)[:200]}"
                result.email_note = f"{conversation_id} {period.label}: {email_status}"
            else:
                email_sent = True
                email_status = f"sent to {len(recipients)} via {email.backend}"
        deliveries = webhooks.deliver(notice.webhook_event())
        delivered_any = any(d.delivered for d in deliveries)
        told = email_sent or (not recipients and delivered_any)
        result.notice_sent = email_sent or delivered_any
        result.failed_webhooks = [d for d in deliveries if not d.delivered]
        result.row |= {
            "download_url_expires_at": expires_at if result.notice_sent else None,
            "notified_at": now if told else None,
            "email_status": email_status,
            "webhook_status": _webhook_status(deliveries),
        }
        published.append(result)
    return published
