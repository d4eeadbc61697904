"""The attachments of chat-export zips that a month's messages reference, verified.

Member names of an export zip are written by phones and by anyone, so they are never
used as paths: a member is chosen only when its safe base name (the parser's own
`safe_member_name`) equals a message's `media_filename`, and kept only when its bytes
have the `media_sha256` the parser recorded. Everything else is skipped with a note.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import BinaryIO

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


# What one zip gave for one wanted attachment: its verified bytes (or None) and the notes.
_Outcome = tuple[bytes | None, list[str]]
# Opens a landing-zone key as a seekable binary file (LandingZone.open).
OpenExport = Callable[[str], AbstractContextManager[BinaryIO]]


def opener_of(read: Callable[[str], bytes]) -> OpenExport:
    """An `OpenExport` over a reader of whole bytes (tests, small callers)."""
    return lambda key: contextlib.nullcontext(io.BytesIO(read(key)))


def _read_wanted(
    source_file: str, file: BinaryIO, wanted: list[WantedMedia]
) -> dict[WantedMedia, _Outcome] | str:
    """Each wanted attachment's verified bytes and notes, or the note of a zip that cannot
    be read at all. The zip is read from `file` member by member, never whole: only the
    wanted members of the right size are inflated."""
    try:
        archive = zipfile.ZipFile(file)
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        return f"{source_file}: the zip cannot be read ({error})"
    by_name: dict[str, list[zipfile.ZipInfo]] = {}
    for info in members:
        safe = safe_member_name(info.filename)
        if safe is not None:
            by_name.setdefault(safe, []).append(info)
    outcomes: dict[WantedMedia, _Outcome] = {}
    with archive:
        for item in wanted:
            notes: list[str] = []
            candidates = [
                info
                for info in by_name.get(item.name, [])
                if item.size is None or info.file_size == item.size
            ]
            if not by_name.get(item.name):
                outcomes[item] = (None, [f"{source_file}: {item.name} is not in the zip"])
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
            outcomes[item] = (match, notes)
    return outcomes


def _found_and_notes(
    outcomes: dict[WantedMedia, _Outcome] | str, wanted: list[WantedMedia]
) -> tuple[list[tuple[WantedMedia, bytes]], list[str]]:
    if isinstance(outcomes, str):
        return [], [outcomes]
    found: list[tuple[WantedMedia, bytes]] = []
    notes: list[str] = []
    for item in wanted:
        content, item_notes = outcomes[item]
        notes += item_notes
        if content is not None:
            found.append((item, content))
    return found, notes


def media_in_export(
    source_file: str, data: bytes, wanted: list[WantedMedia]
) -> tuple[list[tuple[WantedMedia, bytes]], list[str]]:
    """The wanted attachments found in one export zip's bytes, and notes on the others.

    Several members may reduce to the same base name (`x.jpg`, `../../x.jpg`); the one
    whose bytes match the digest wins. Members of the wrong size are not even read.
    """
    return _found_and_notes(_read_wanted(source_file, io.BytesIO(data), wanted), wanted)


class ExportZips:
    """The attachments that `messages` reference, taken from their export zips with each zip
    read (and opened) once, however many conversations or months then use it.

    Only the wanted attachments are kept, not the zips, so a build over many months holds
    at most what its archives will contain; each zip is read from its file (`open_export`,
    e.g. `LandingZone.open`), never loaded whole.
    """

    def __init__(self, messages: pd.DataFrame, open_export: OpenExport) -> None:
        self._outcomes: dict[str, dict[WantedMedia, _Outcome] | str] = {}
        self.reads = 0
        for source_file, wanted in wanted_media(messages).items():
            try:
                with open_export(source_file) as file:
                    self.reads += 1
                    self._outcomes[source_file] = _read_wanted(source_file, file, wanted)
            except FileNotFoundError:
                self._outcomes[source_file] = (
                    f"{source_file}: the export is no longer in the landing zone"
                )

    def media_in(
        self, source_file: str, wanted: list[WantedMedia]
    ) -> tuple[list[tuple[WantedMedia, bytes]], list[str]]:
        """As `media_in_export`, for attachments these messages wanted from `source_file`."""
        return _found_and_notes(self._outcomes[source_file], wanted)


def collect_export_media(
    messages: pd.DataFrame, read: Callable[[str], bytes] | ExportZips
) -> Mapping[str, ExportMedia]:
    """Per conversation, the verified attachments of its export messages.

    `read` gives the bytes of a landing-zone key (each distinct export zip is read
    once), or is the `ExportZips` a whole build read already (covering `messages`).
    The result's names are safe base names, the same bytes under the same name are
    kept once, and the order is fixed, so equal inputs give equal archives.
    """
    result: dict[str, ExportMedia] = {}
    if messages.empty or "conversation_id" not in messages.columns:
        return result
    by_source: dict[str, list[tuple[str, list[WantedMedia]]]] = {}
    for conversation_id, conversation in messages.groupby("conversation_id", sort=True):
        for source_file, wanted in wanted_media(conversation).items():
            by_source.setdefault(source_file, []).append((str(conversation_id), wanted))
    zips = read if isinstance(read, ExportZips) else ExportZips(messages, opener_of(read))
    for source_file, users in sorted(by_source.items()):
        for conversation_id, wanted in users:
            media = result.setdefault(conversation_id, ExportMedia())
            found, notes = zips.media_in(source_file, wanted)
            media.skipped += notes
            for item, content in found:
                name = item.name
                if name in media.files and media.files[name] != content:
                    name = f"{item.sha256}/{item.name}"  # reduced to item.name, then numbered
                media.files.setdefault(name, content)
    return result
