"""The attachments of chat-export zips that a month's messages reference, verified.

Member names of an export zip are written by phones and by anyone, so they are never
used as paths: a member is chosen only when its safe base name (the parser's own
`safe_member_name`) equals a message's `media_filename`, and kept only when its bytes
have the `media_sha256` the parser recorded. Everything else is skipped with a note.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from wareader_pipelines.parsing.chat_export import safe_member_name

EXPORT_SOURCE = "export"


@dataclass(frozen=True, slots=True, order=True)
class WantedMedia:
    """One attachment a message references: its file name, digest and size (if known)."""

    name: str
    sha256: str
    size: int | None


@dataclass(slots=True)
class ExportMedia:
    """The verified attachments (archive name → bytes) and a note per skipped one."""

    files: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _size(value: object) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)  # type: ignore[call-overload,no-any-return]


def wanted_media(messages: pd.DataFrame) -> dict[str, list[WantedMedia]]:
    """Per export zip (landing-zone key), the distinct attachments its messages reference."""
    needed = {"source", "source_file", "media_filename", "media_sha256"}
    if messages.empty or not needed <= set(messages.columns):
        return {}
    found: dict[str, set[WantedMedia]] = {}
    sizes = messages["media_bytes"] if "media_bytes" in messages.columns else None
    for index, row in messages.iterrows():
        source_file = _text(row["source_file"])
        name = _text(row["media_filename"])
        digest = _text(row["media_sha256"])
        if row["source"] != EXPORT_SOURCE or not (source_file and name and digest):
            continue
        if not source_file.lower().endswith(".zip"):
            continue  # a bare .txt export carries no files
        safe = safe_member_name(name)
        if safe is None:
            continue
        size = _size(sizes[index]) if sizes is not None else None
        found.setdefault(source_file, set()).add(WantedMedia(safe, digest.lower(), size))
    return {key: sorted(items) for key, items in sorted(found.items())}


def media_in_export(
    source_file: str, data: bytes, wanted: list[WantedMedia]
) -> tuple[list[tuple[WantedMedia, bytes]], list[str]]:
    """The wanted attachments found in one export zip's bytes, and notes on the others.

    Several members may reduce to the same base name (`x.jpg`, `../../x.jpg`); the one
    whose bytes match the digest wins. Members of the wrong size are not even read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        return [], [f"{source_file}: the zip cannot be read ({error})"]
    by_name: dict[str, list[zipfile.ZipInfo]] = {}
    for info in members:
        safe = safe_member_name(info.filename)
        if safe is not None:
            by_name.setdefault(safe, []).append(info)
    found: list[tuple[WantedMedia, bytes]] = []
    notes: list[str] = []
    with archive:
        for item in wanted:
            candidates = [
                info
                for info in by_name.get(item.name, [])
                if item.size is None or info.file_size == item.size
            ]
            if not by_name.get(item.name):
                notes.append(f"{source_file}: {item.name} is not in the zip")
                continue
            match = None
            for info in candidates:
                try:
                    content = archive.read(info)
                except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as error:
                    notes.append(f"{source_file}: {item.name} cannot be read ({error})")
                    continue
                if hashlib.sha256(content).hexdigest() == item.sha256:
                    match = content
                    break
            if match is None:
                notes.append(f"{source_file}: {item.name} does not match its sha256, skipped")
                continue
            found.append((item, match))
    return found, notes


def collect_export_media(
    messages: pd.DataFrame, read: Callable[[str], bytes]
) -> Mapping[str, ExportMedia]:
    """Per conversation, the verified attachments of its export messages.

    `read` gives the bytes of a landing-zone key; each distinct export zip is read
    once. The result's names are safe base names, the same bytes under the same name
    are kept once, and the order is fixed, so equal inputs give equal archives.
    """
    result: dict[str, ExportMedia] = {}
    if messages.empty or "conversation_id" not in messages.columns:
        return result
    by_source: dict[str, list[tuple[str, list[WantedMedia]]]] = {}
    for conversation_id, conversation in messages.groupby("conversation_id", sort=True):
        for source_file, wanted in wanted_media(conversation).items():
            by_source.setdefault(source_file, []).append((str(conversation_id), wanted))
    for source_file, users in sorted(by_source.items()):
        try:
            data = read(source_file)
        except FileNotFoundError:
            data = None
        for conversation_id, wanted in users:
            media = result.setdefault(conversation_id, ExportMedia())
            if data is None:
                media.skipped.append(f"{source_file}: the export is no longer in the landing zone")
                continue
            found, notes = media_in_export(source_file, data, wanted)
            media.skipped += notes
            for item, content in found:
                name = item.name
                if name in media.files and media.files[name] != content:
                    name = f"{item.sha256}/{item.name}"  # reduced to item.name, then numbered
                media.files.setdefault(name, content)
    return result
