"""One conversation's month as a zip: transcript (text and JSON Lines), day summaries,
optional media, and a manifest that lists every file's sha256.

Building is split in two so that a rebuild of unchanged data gives the same bytes:
`prepare_archive` fixes the contents and their digest; `ArchiveContents.to_zip`
adds the build time, which a caller reuses when the digest has not changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from wareader_pipelines.archives.deterministic_zip import deterministic_zip, member_path
from wareader_pipelines.archives.transcript import (
    known_phone_numbers,
    ordered_messages,
    ordered_summaries,
    redacted_messages,
    render_json_lines,
    render_summaries_markdown,
    render_transcript,
)
from wareader_pipelines.nlp.pii import PhoneRedactor

ARCHIVE_FORMAT = "wareader-conversation-archive/1"
TRANSCRIPT_NAME = "transcript.txt"
MESSAGES_NAME = "messages.jsonl"
SUMMARIES_NAME = "summaries.md"
MANIFEST_NAME = "manifest.json"
MEDIA_FOLDER = "media"
REPORT_NAME = "report.png"


@dataclass(frozen=True, slots=True)
class ArchivePeriod:
    """The month an archive covers: a label and its UTC bounds [start, end)."""

    label: str  # "2024-05"
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class ArchiveContents:
    """Everything in an archive except its build time."""

    conversation_id: str
    conversation_name: str
    period: ArchivePeriod
    files: tuple[tuple[str, bytes, int | None], ...]  # name, bytes, rows (None for media)
    manifest_core: dict[str, object]
    content_sha256: str
    message_count: int
    summary_count: int
    media_count: int

    def manifest(self, built_at: datetime) -> dict[str, object]:
        """The manifest, stamped with `built_at` (UTC)."""
        stamp = built_at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return {**self.manifest_core, "built_at": stamp}

    def to_zip(self, built_at: datetime) -> bytes:
        """The zip bytes: the same contents and `built_at` give the same bytes."""
        manifest = json.dumps(self.manifest(built_at), indent=2, sort_keys=True) + "\n"
        members = [(name, data) for name, data, _ in self.files]
        return deterministic_zip([*members, (MANIFEST_NAME, manifest.encode())])


def month_period(start: datetime, end: datetime) -> ArchivePeriod:
    """The period of a monthly partition's time window."""
    return ArchivePeriod(label=start.strftime("%Y-%m"), start=start, end=end)


def archive_key(conversation_id: str, period: ArchivePeriod) -> str:
    """Where a conversation's month is stored in the blob store."""
    folder = member_path("archives", conversation_id)
    return f"{folder}/{period.label}.zip"


def _first_text(frame: pd.DataFrame, column: str) -> str:
    if column not in frame.columns:
        return ""
    values = frame[column].dropna().astype(str)
    values = values[values != ""]
    return str(values.iloc[0]) if len(values) else ""


def _unchanged(text: str) -> str:
    """The identity: used when configuration allows phone numbers in archives."""
    return text


def prepare_archive(
    *,
    conversation_id: str,
    messages: pd.DataFrame,
    summaries: pd.DataFrame,
    period: ArchivePeriod,
    pipeline_version: str,
    allow_phone_numbers: bool = False,
    phone_region: str = "US",
    default_timezone: str = "UTC",
    media: Mapping[str, bytes] | None = None,
    report_png: bytes | None = None,
) -> ArchiveContents:
    """The files of one conversation's archive and the digest of their contents.

    `summaries` may be empty (the summaries stage has not run): the archive is
    built anyway, without `summaries.md`. Phone numbers are masked in every file
    unless `allow_phone_numbers`. `media` maps attachment names to bytes; names
    are reduced to plain file names under `media/`. `report_png` (the month's
    picture from `conversation_reports`, byte-identical for unchanged data) is
    stored as `report.png`.
    """
    redact: Callable[[str], str] = (
        _unchanged
        if allow_phone_numbers
        else PhoneRedactor(default_region=phone_region, known_numbers=known_phone_numbers(messages))
    )
    messages = redacted_messages(ordered_messages(messages), redact)
    summaries = ordered_summaries(summaries)
    title = _first_text(messages, "conversation_name") or conversation_id
    files: list[tuple[str, bytes, int | None]] = [
        (
            TRANSCRIPT_NAME,
            render_transcript(
                messages, title=title, period=period.label, default_timezone=default_timezone
            ).encode(),
            len(messages),
        ),
        (MESSAGES_NAME, render_json_lines(messages).encode(), len(messages)),
    ]
    if not summaries.empty:
        markdown = render_summaries_markdown(
            summaries, title=title, period=period.label, redact=redact
        )
        files.append((SUMMARIES_NAME, markdown.encode(), len(summaries)))
    if report_png:
        files.append((REPORT_NAME, report_png, None))
    media_files: dict[str, bytes] = {}
    for name, data in sorted((media or {}).items()):
        member = member_path(MEDIA_FOLDER, name)
        stem, dot, suffix = member.rpartition(".")
        unique, counter = member, 1
        while unique in media_files:  # two attachments reduced to the same name
            counter += 1
            unique = f"{stem}-{counter}.{suffix}" if dot else f"{member}-{counter}"
        media_files[unique] = data
    files += [(name, data, None) for name, data in media_files.items()]
    core: dict[str, object] = {
        "format": ARCHIVE_FORMAT,
        "conversation_id": conversation_id,
        "conversation_name": title,
        "period": {
            "month": period.label,
            "start": period.start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "end": period.end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        },
        "pipeline_version": pipeline_version,
        "phone_numbers": "included" if allow_phone_numbers else "redacted",
        "counts": {
            "messages": len(messages),
            "summaries": len(summaries),
            "media": len(media_files),
        },
        "files": [
            {
                "name": name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                **({"rows": rows} if rows is not None else {}),
            }
            for name, data, rows in files
        ],
    }
    digest = hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()
    return ArchiveContents(
        conversation_id=conversation_id,
        conversation_name=title,
        period=period,
        files=tuple(files),
        manifest_core={**core, "content_sha256": digest},
        content_sha256=digest,
        message_count=len(messages),
        summary_count=len(summaries),
        media_count=len(media_files),
    )
