"""WhatsApp "Export chat" files (.txt, or .zip with media) → message rows.

An export is the phone's own rendering of a chat: one header per message
(`13/05/24, 21:05 - Ana: hi` on Android, `[13.05.24, 21:05:33] Ana: hi` on
iOS) in the phone's locale, followed by the lines of multi-line bodies. The
text is never held whole (see export_text): it is read in blocks of lines, in
passes that each start again from the file (or the zip member) and keep only
what their decision needs:

1. Detect the header layout (brackets, separators, clock) from the first
   few thousand header-like lines with one generic regex, then compile ONE
   specific regex for the file and match every line with it; a line that
   does not match continues the previous message.
2. Decide the date order (day-, month- or year-first) from the whole file:
   which order makes every date valid, which keeps dates from running
   backwards, and which position changes more often (days change more often
   than months). The caller can force it per file.
3. Build the rows, handed out in batches (`parse_export_batches`) so that a
   consumer that stores each batch holds one batch, not the file's rows. Local
   times are read in the configured IANA zone and stored in UTC; the zone's
   offset is cached per local day, so only days with a DST change pay for a
   zoneinfo conversion per line. Ingestion uses the vectorised parser
   (`columnar=True`): a UTF-8 text is read as bytes a block at a time, Arrow's
   RE2 kernels find and read its headers, NumPy and Arrow type a person's plain
   messages and build the columns, and only uncommon messages (system lines,
   edits, attachments, DST days, rejects) are read one by one in Python.

A line that cannot be used (a header with an impossible date such as 31/02 or
a year no table stores, text before the first header, undecodable bytes, a
sender beyond the export's cap of distinct senders) becomes one quarantine row
and never stops the file. A file that is not an export at all gives one
quarantine row for the whole file and no messages.

Message ids are keyed hashes of (conversation, local wall time, sender, raw
body, occurrence of that tuple), so re-importing a file, or importing a
longer export of the same chat that overlaps it, gives the same ids; the
conversation id comes from the chat title in the file name, never from its
path or its contents' line numbers.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import io
import itertools
import mimetypes
import os
import re
import unicodedata
import zipfile
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wareader_pipelines.garbage_collector import collector_paused
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing import export_columns
from wareader_pipelines.parsing import export_markers as markers
from wareader_pipelines.parsing.export_limits import (
    ExportLimits,
    ExportTooLarge,
    hash_member,
)
from wareader_pipelines.parsing.export_text import (
    CappedReader,
    LineBlock,
    block_reads,
    byte_blocks,
    line_blocks,
    text_blocks,
)
from wareader_pipelines.parsing.record_arrow import MESSAGE_SCHEMA, arrow_of
from wareader_pipelines.parsing.records import MessageRecord, QuarantineRecord
from wareader_pipelines.parsing.repeated_digests import DIGEST_BYTES, RepeatedDigests

DATE_ORDERS = ("DMY", "MDY", "YMD")
"""The date orders an export can use; ties are broken in this order of preference."""

EXCERPT_CHARS = 300
_DETECT_SAMPLE = 5000  # header-like lines looked at to detect the layout
_BINARY_SAMPLE = 65536  # bytes looked at to tell a binary file from text with a stray NUL
_LEADING_TEXT_LIMIT = 20  # non-empty lines allowed before the first header of a real export
_AUTHOR_LINES_JUDGED = 20  # lines per author looked at to tell the group's own name from a person
_MARKS = "\u200e\u200f"
_MARKER_LEADS = "<\u200e\u200f \u00a0"  # a first line starting so may be a marker
_SPACES = " \u00a0\u202f\u2009"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INVALID_DAY = (0, None, date.min)  # day cache entry of an impossible date
_OUT_OF_RANGE_DAY = (0, None, date.max)  # day cache entry of a date no table can store
# The years whose times a table stores (nanosecond timestamps reach 1677-09-21 to 2262-04-11).
_FIRST_YEAR, _LAST_YEAR = 1678, 2261
_DAY_CACHE_LIMIT = 4096  # distinct dates cached at once: a file of new dates is not held whole
_CLOCK_CACHE_LIMIT = 100_000  # distinct written times cached at once (a day has 86,400)
# Scans of a text (~10 MB) kept whole, so it is read once; at most a quarter of the text cap,
# so that keeping them never takes the parse near its bound of 4 x the cap.
_KEPT_SCAN_BYTES = 24 * 2**20
_JUDGED_WINDOW = 512  # headers whose authors `judge` reads at a time
_SHAPE_SAMPLE = 64  # lines of the first block whose headers show the file's usual shape

# Between date and time: a comma, or the word some locales write there ("13/05/2024 à 21:05").
_DATE_TIME_JOINER = r"(?:,|[ \u00a0](?:à|um|alle|às|a las|klo|kl\.))?[ \u00a0\u202f]"
# One generic pattern, only used to detect a file's layout. Its only groups are the style's,
# so that `Match.groups()` is the style as written: (open, sep, tsep, ampm, close).
_DETECT = re.compile(
    r"^[\u200e\u200f]*(?P<open>\[)?"
    r"\d{1,4}(?P<sep>[/.\-])\d{1,2}(?P=sep)\d{2,4}\.?"
    + _DATE_TIME_JOINER
    + r"\d{1,2}(?P<tsep>[:.])\d{2}(?:(?P=tsep)\d{2})?"
    r"(?:[ \u00a0\u202f\u2009]?(?P<ampm>[AaPp]\.?[ \u00a0\u202f\u2009]?[Mm]\.?))?"
    r"(?P<close>\][ \u00a0]?|[ \u00a0\u202f]?[-–][ \u00a0\u202f]|: )"
)
_CLOSE_PATTERNS = {
    "]": r"\][ \u00a0]?",
    "-": r"[ \u00a0\u202f]?[-–][ \u00a0\u202f]",
    ":": r": ",
}
_SURROGATE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE_AUTHOR = re.compile(r"^\+\d[\d \u00a0\u202f\-().]{5,22}$")
_NON_DIGIT = re.compile(r"\D")
_AUTHOR_QUOTES = frozenset('"“”«»„')
_TITLE = re.compile(
    r"^(?:WhatsApp[ -]Chat|Chat de WhatsApp|Chat WhatsApp|Conversa d[oe] WhatsApp"
    r"|Discussion WhatsApp|WhatsApp-chat|WhatsApp Sohbeti)"
    r"\s*(?:[-–:]|\b(?:with|mit|con|com|avec|met|ile)\b)\s*(?P<title>.+)$",
    re.IGNORECASE,
)
_COPY_SUFFIX = re.compile(r"\s*\(\d{1,3}\)$")
# WhatsApp's own media types, fixed so the column does not depend on the host's mime.types.
_MIME_BY_EXTENSION = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "heic": "image/heic",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "mov": "video/quicktime",
    "opus": "audio/ogg",
    "ogg": "audio/ogg",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "pdf": "application/pdf",
    "vcf": "text/vcard",
    "txt": "text/plain",
}
_KIND_BY_EXTENSION = {
    **dict.fromkeys(("jpg", "jpeg", "png", "heic", "gif", "bmp"), "image"),
    **dict.fromkeys(("mp4", "3gp", "mov", "mkv", "avi"), "video"),
    **dict.fromkeys(("opus", "ogg", "m4a", "mp3", "aac", "amr", "wav"), "audio"),
    "webp": "sticker",
    "vcf": "contacts",
}
_KIND_BY_NAME = re.compile(
    r"(?P<ios>PHOTO|VIDEO|AUDIO|STICKER|GIF|CONTACT)-\d{4}-"
    r"|^(?P<android>IMG|VID|PTT|AUD|STK|DOC)-\d{8}-WA",
)
_KIND_BY_TAG = {
    "PHOTO": "image",
    "IMG": "image",
    "VIDEO": "video",
    "VID": "video",
    "GIF": "video",
    "AUDIO": "audio",
    "PTT": "audio",
    "AUD": "audio",
    "STICKER": "sticker",
    "STK": "sticker",
    "CONTACT": "contacts",
    "DOC": "document",
}


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A media file inside an export zip: its safe base name, size and content hash."""

    name: str
    size: int
    sha256: str


@dataclass(slots=True)
class ExportParseResult:
    """Everything one export file yields: rows, rejects, its media and the decisions taken."""

    messages: list[MessageRecord]
    quarantine: list[QuarantineRecord]
    media_files: list[MediaFile]
    conversation_name: str
    date_order: (
        str  # "DMY" | "MDY" | "YMD": decided or forced ("DMY" when there was nothing to decide)
    )
    timezone: str


@dataclass(frozen=True, slots=True)
class _Layout:
    """A file's header layout, as detected from its header-like lines."""

    bracketed: bool
    date_sep: str
    time_sep: str
    close: str  # "]", "-" or ":"
    twelve_hour: bool

    def header_pattern(self) -> re.Pattern[str]:
        """The one regex that matches this layout's header lines.

        Groups: 1 date text, 2-4 its three numbers, 5 hour, 6 minute,
        7 second, 8 first letter of AM/PM, 9 the rest of the line.
        """
        return re.compile(self._source(clock_group=False))

    def block_pattern(self) -> re.Pattern[str]:
        """`header_pattern` for a block of lines (MULTILINE), with the time written as one
        more group: 1 date text, 2-4 its numbers, 5 the time as written (AM/PM included),
        6 hour, 7 minute, 8 second, 9 first letter of AM/PM, 10 the rest of the line."""
        return re.compile(self._source(clock_group=True), re.MULTILINE)

    def re2_header(self) -> str:
        """`header_pattern` without its rest group, in RE2's syntax (Arrow's kernels)."""
        return export_columns.re2_source(
            self._source(clock_group=False).removesuffix("(.*)"), ascii_digits=False
        )

    def re2_plain_header(self) -> str:
        """The header as a phone writes it (ASCII digits, no direction mark before it), in
        RE2's syntax with two groups: `date`, `header_pattern`'s group 1, and `clock`, the
        rest of the header up to the sender."""
        sep = re.escape(self.date_sep)
        return export_columns.re2_source(
            "^"
            + (r"\[" if self.bracketed else "")
            + rf"(?P<date>\d{{1,4}}{sep}\d{{1,2}}{sep}\d{{2,4}})(?P<clock>"
            + self._clock_source(groups=False)
            + ")",
            ascii_digits=True,
        )

    def clock_pattern(self) -> re.Pattern[str]:
        """What `re2_plain_header` calls the clock, with the groups hour, minute, second and
        the first letter of AM/PM (`_clock_of`'s arguments)."""
        return re.compile(self._clock_source(groups=True))

    def header_shape(
        self, dates: list[str], clocks: list[str]
    ) -> export_columns.HeaderShape | None:
        """The most common shape (export_columns.HeaderShape) of headers whose date and
        clock `re2_plain_header` read, or None without any."""
        clock_match = self.clock_pattern().fullmatch
        lead = b"[" if self.bracketed else b""
        shapes: Counter[tuple[bytes, int, tuple[int, ...], tuple[int, ...]]] = Counter()
        example: dict[tuple[bytes, int, tuple[int, ...], tuple[int, ...]], bytes] = {}
        for date_text, clock in zip(dates, clocks, strict=True):
            found = clock_match(clock)
            # A "]" not followed by its optional space: a line that goes on with one starts
            # like this header but its clock would be a byte longer. No shape from it.
            if found is None or clock.endswith("]"):
                continue
            head = lead + date_text.encode()
            whole = head + clock.encode()
            if len(whole) > export_columns.PAD:  # more than a block's padding: no shape
                continue
            masked = bytearray(whole)  # headers of one shape differ in digits and AM/PM only
            digits = tuple(at for at, byte in enumerate(whole) if 48 <= byte <= 57)
            for at in digits:
                masked[at] = ord("0")
            letters: tuple[int, ...] = ()
            if found.group(4) is not None:
                letters = (len(head) + len(clock[: found.start(4)].encode()),)
                masked[letters[0]] = ord("A")
            key = (bytes(masked), len(head), digits, letters)
            shapes[key] += 1
            example.setdefault(key, whole)
        if not shapes:
            return None
        key = shapes.most_common(1)[0][0]
        _, head_length, digits, letters = key
        # Where the example's hour, minute, second and AM/PM letter are: at the same bytes
        # in every header of its shape, which differ from it in digits and that letter only.
        clock = example[key][head_length:].decode()
        found = clock_match(clock)
        assert found is not None  # the example's clock was read above

        def places(group: int) -> tuple[int, ...]:
            if found[group] is None:
                return ()
            at = head_length + len(clock[: found.start(group)].encode())
            return tuple(range(at, at + len(found[group].encode())))

        letter = places(4)
        return export_columns.HeaderShape(
            example[key],
            len(lead),
            head_length - len(lead),
            list(digits),
            list(letters),
            (places(1), places(2), places(3), letter[0] if letter else None),
        )

    def _clock_source(self, *, groups: bool) -> str:
        tsep = re.escape(self.time_sep)
        group = "(" if groups else "(?:"
        return (
            r"\.?"
            + _DATE_TIME_JOINER
            + rf"{group}\d{{1,2}}){tsep}{group}\d{{2}})(?:{tsep}{group}\d{{2}}))?"
            + r"(?:[ \u00a0\u202f\u2009]?"
            + group
            + r"[AaPp])\.?[ \u00a0\u202f\u2009]?[Mm]\.?)?"
            + _CLOSE_PATTERNS[self.close]
        )

    def _source(self, *, clock_group: bool) -> str:
        sep, tsep = re.escape(self.date_sep), re.escape(self.time_sep)
        return (
            r"^[\u200e\u200f]*"
            + (r"\[" if self.bracketed else "")
            + rf"((\d{{1,4}}){sep}(\d{{1,2}}){sep}(\d{{2,4}}))\.?"
            + _DATE_TIME_JOINER
            + ("(" if clock_group else "")
            + rf"(\d{{1,2}}){tsep}(\d{{2}})(?:{tsep}(\d{{2}}))?"
            + r"(?:[ \u00a0\u202f\u2009]?([AaPp])\.?[ \u00a0\u202f\u2009]?[Mm]\.?)?"
            + (")" if clock_group else "")
            + _CLOSE_PATTERNS[self.close]
            + r"(.*)"
        )


class _NotAnExport(Exception):
    """The input is not a WhatsApp chat export; the message says why."""


def safe_member_name(name: str) -> str | None:
    """The base name of a zip member, safe to use as a file name, or None if it has none.

    Zip member names are attacker-controlled: `../../etc/x`, `C:\\x` or
    absolute paths must never be joined to a directory. Only the last path
    component is kept, control characters and direction marks are dropped,
    and `.`/`..`/empty names give None.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _CONTROL.sub("", base).strip(markers.DIRECTION_MARKS).strip()
    if len(base) >= 2 and base[1] == ":" and base[0].isalpha():  # drive-relative "C:x"
        base = base[2:]
    if base in {"", ".", ".."}:
        return None
    return base


def conversation_title_of(file_name: str) -> str:
    """The chat's title as the phone wrote it into the export's file name.

    `exports/WhatsApp Chat with Ana.txt` → `Ana`, `WhatsApp Chat - Família
    Silva.zip` → `Família Silva`, `WhatsApp Chat with Ana (1).zip` → `Ana`;
    any other name gives its stem, so `notes.txt` → `notes`.
    """
    stem = _stem_of(file_name)
    match = _TITLE.match(stem)
    return (match["title"].strip() if match else stem) or stem


def _stem_of(file_name: str) -> str:
    """A file's base name without extension or a download copy's " (1)"."""
    stem = safe_member_name(file_name) or file_name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    return _COPY_SUFFIX.sub("", stem).strip()


def conversation_id_of(title: str, pseudonyms: Pseudonymizer) -> str:
    """The keyed id of an exported chat, the same for every export of that chat title."""
    return pseudonyms.id_of("export:" + _title_key(title), prefix="c_")


ExportSource = bytes | bytearray | str | os.PathLike[str] | BinaryIO
"""What `parse_export` reads: the file's bytes, its path, or a seekable binary file."""

BATCH_ROWS = 5_000
"""Messages per batch of `parse_export_batches`: what rows in flight cost, not the file."""
_EXCERPT_BYTES = EXCERPT_CHARS * 2  # raw bytes of a rejected file kept for its excerpt


@dataclass(slots=True)
class ExportBatch:
    """Consecutive rows of one export: its messages and the rejected lines among them.

    The whole-block parser (`parse_export_batches(columnar=True)`) gives the messages as
    an Arrow table of MESSAGE_SCHEMA in `table` and leaves `messages` empty.
    """

    messages: list[MessageRecord]
    quarantine: list[QuarantineRecord]
    table: pa.Table | None = None

    def message_table(self) -> pa.Table:
        """The batch's messages as an Arrow table of MESSAGE_SCHEMA, however they were built."""
        return self.table if self.table is not None else arrow_of(self.messages, MESSAGE_SCHEMA)


@dataclass(slots=True)
class ExportBatches:
    """One export whose whole-file decisions are taken, and its rows, built as they are read.

    `batches` reads the text again from its start and yields at most `BATCH_ROWS`
    messages at a time, in line order; a consumer that stores each batch and lets it go
    holds one batch of rows, never the file's.
    """

    batches: Iterator[ExportBatch]
    media_files: list[MediaFile]
    conversation_name: str
    date_order: str  # "DMY" | "MDY" | "YMD": decided or forced ("DMY" with nothing to decide)
    timezone: str


def parse_export(
    name: str,
    data: ExportSource,
    *,
    pseudonyms: Pseudonymizer,
    landed_at: datetime,
    timezone: str = "UTC",
    date_order: str | None = None,
    limits: ExportLimits = ExportLimits(),  # noqa: B008 (frozen: one shared default is safe)
) -> ExportParseResult:
    """Parse one chat export (.txt or .zip: bytes, a path or a file) into messages,
    quarantine rows and media, all in memory (see `parse_export_batches` for the rest).

    `name` is the landing-zone key, kept as `source_file`; `timezone` is the
    IANA zone of the phone that exported the chat; `date_order` forces
    "DMY", "MDY" or "YMD" instead of deciding it from the file. Raises
    ValueError only for an unknown zone or date order (configuration
    errors); everything wrong with the file itself (a damaged zip, a text
    or zip member over `limits`, one too big to hold in memory) is
    quarantined. A file whose first 64 KiB hold no message header is
    rejected before the rest is decoded.
    """
    opened = parse_export_batches(
        name,
        data,
        pseudonyms=pseudonyms,
        landed_at=landed_at,
        timezone=timezone,
        date_order=date_order,
        limits=limits,
    )
    messages: list[MessageRecord] = []
    quarantine: list[QuarantineRecord] = []
    try:
        with collector_paused():  # every row is kept: collections while they pile up find nothing
            for batch in opened.batches:
                messages.extend(batch.messages)
                quarantine.extend(batch.quarantine)
    except (_NotAnExport, MemoryError) as error:  # damage or exhaustion met while building rows
        reason = str(error) if isinstance(error, _NotAnExport) else _NEEDS_MEMORY
        row = QuarantineRecord(name, "whole file", reason, "", landed_at.astimezone(UTC))
        return ExportParseResult(
            [], [row], opened.media_files, opened.conversation_name, opened.date_order, timezone
        )
    return ExportParseResult(
        messages,
        quarantine,
        opened.media_files,
        opened.conversation_name,
        opened.date_order,
        timezone,
    )


_NEEDS_MEMORY = "the export needs more memory than this process has"


def parse_export_batches(
    name: str,
    data: ExportSource,
    *,
    pseudonyms: Pseudonymizer,
    landed_at: datetime,
    timezone: str = "UTC",
    date_order: str | None = None,
    limits: ExportLimits = ExportLimits(),  # noqa: B008 (frozen: one shared default is safe)
    columnar: bool = False,
) -> ExportBatches:
    """Open one chat export, take its whole-file decisions, and build its rows in batches.

    The same rows as `parse_export`, with bounded memory: the zip is read from the
    file (never loaded whole), its chat member and a .txt file are streamed a block at
    a time, once to decide the layout, date order and authors, and once more as the
    batches are iterated. A file rejected whole (damaged, over `limits`, not an export)
    gives one batch holding its quarantine row. A path given is opened here and closed
    when the batches are exhausted or dropped; a file given stays the caller's.

    `columnar` builds each batch's messages as an Arrow table (`ExportBatch.table`) with
    the vectorised parser (`vector_batches`, ~5x the line parser) when the text allows it
    (UTF-8 without NUL or undecodable bytes, a header on its first line; UTF-16 text
    gets `column_batches`, other text the line parser's records): the same rows either
    way (tests/parsing/test_export_columnar.py compares them).
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown export timezone {timezone!r}") from error
    if date_order is not None and date_order.upper() not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS}, not {date_order!r}")
    forced_order = date_order.upper() if date_order else None
    if landed_at.tzinfo is None:
        raise ValueError("landed_at must be timezone-aware")
    landed_at = landed_at.astimezone(UTC)

    title = conversation_title_of(name)
    media: dict[str, MediaFile] = {}
    media_files: list[MediaFile] = []
    resources = ExitStack()
    if isinstance(data, (bytes, bytearray)):
        file: BinaryIO = io.BytesIO(data)
    elif isinstance(data, (str, os.PathLike)):
        file = resources.enter_context(open(data, "rb"))  # noqa: SIM115 (closed by `resources`)
    else:
        file = data
    head = b""

    def whole_file(reason: str) -> ExportBatches:
        resources.close()
        excerpt = _printable(head.decode("utf-8", "replace"))[:EXCERPT_CHARS]
        row = QuarantineRecord(name, "whole file", reason, excerpt, landed_at)
        return ExportBatches(
            iter([ExportBatch([], [row])]), media_files, title, forced_order or "DMY", timezone
        )

    try:
        file.seek(0)
        head = file.read(_EXCERPT_BYTES)
        size = file.seek(0, os.SEEK_END)
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            chat_name, open_chat, media_files = _unzipped(file, size, limits)
            for media_file in media_files:
                media.setdefault(media_file.name, media_file)
            if _TITLE.match(_stem_of(name)) is None and _TITLE.match(_stem_of(chat_name)):
                # "export.zip" holding "WhatsApp Chat with Ana.txt": the member names the chat
                title = conversation_title_of(chat_name)
        else:
            limits.check_text_size(size, "the chat text")
            open_chat = _text_opener(file, limits)
        parser = _ExportParser(
            name=name,
            open_chat=open_chat,
            title=title,
            conversation_id=conversation_id_of(title, pseudonyms),
            zone=zone,
            timezone=timezone,
            landed_at=landed_at,
            forced_order=forced_order,
            media=media,
            max_authors=limits.max_authors,
            vectorise=columnar,
            kept_scan_bytes=min(_KEPT_SCAN_BYTES, limits.max_text_bytes // 4),
            block_reads=block_reads(limits.max_text_bytes),
        )
        decided_order = parser.scanned()
    except (_NotAnExport, ExportTooLarge) as error:
        return whole_file(str(error))
    except MemoryError:
        return whole_file(_NEEDS_MEMORY)
    except BaseException:
        resources.close()
        raise

    def batches() -> Iterator[ExportBatch]:
        with resources:
            if parser.vectorised:
                yield from parser.vector_batches(decided_order)
            elif columnar and parser.plain and parser.first == 0:
                yield from parser.column_batches(decided_order)
            else:
                yield from parser.batches(decided_order)

    return ExportBatches(batches(), media_files, title, decided_order, timezone)


def _text_opener(file: BinaryIO, limits: ExportLimits) -> Callable[[], BinaryIO]:
    """Opens the chat text of a .txt export from its start, as often as a pass needs it."""

    def opened() -> BinaryIO:
        file.seek(0)
        # Capped too: a file that grows while it is read is judged by what is read.
        return _Unclosed(CappedReader(file, limits.max_text_bytes, "the chat text"))

    return opened


class _Unclosed:
    """A reader whose close() leaves the underlying file open (it is read again later)."""

    def __init__(self, raw: CappedReader) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def close(self) -> None:
        pass


def _unzipped(
    file: BinaryIO, size: int, limits: ExportLimits
) -> tuple[str, Callable[[], BinaryIO], list[MediaFile]]:
    """The chat member's name and an opener of its inflated bytes, and the index of every
    other file, of an export zip read from `file` (never loaded whole).

    Every member is checked against `limits` by its declared sizes before any is
    inflated, then inflated in blocks under a guard (headers can lie).
    """
    try:
        archive = zipfile.ZipFile(file)
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not (safe_member_name(info.filename) or "._").startswith("._")
        ]
        texts = [info for info in members if info.filename.lower().endswith(".txt")]
        if not texts:
            raise _NotAnExport("not a WhatsApp chat export: the zip holds no chat .txt file")

        def preference(info: zipfile.ZipInfo) -> tuple[int, int]:
            base = safe_member_name(info.filename) or ""
            rank = 0 if base == "_chat.txt" else 1 if _TITLE.match(base[:-4]) else 2
            return (rank, -info.file_size)

        chat = min(texts, key=preference)
        for info in members:
            limits.check_declared(info, size)
        limits.check_text_size(chat.file_size, f"the chat text {chat.filename!r} (declared)")
        cap = min(limits.max_text_bytes, limits.inflate_cap(chat, size))
        media_files = []
        for info in members:
            if info is chat:
                continue
            safe = safe_member_name(info.filename)
            if safe is None:
                continue
            member_size, sha256 = hash_member(archive, info, limits, size)
            media_files.append(MediaFile(safe, member_size, sha256))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError) as error:
        # RuntimeError: encrypted member; NotImplementedError: unsupported compression.
        raise _NotAnExport(f"the zip archive cannot be read: {error}") from error
    except (EOFError, OSError, zlib.error) as error:
        raise _NotAnExport(f"the zip archive is truncated or damaged: {error}") from error

    def opened() -> BinaryIO:
        return CappedReader(  # type: ignore[return-value]
            archive.open(chat),
            cap,
            f"zip member {chat.filename!r} (headers declare {chat.file_size:,} bytes)",
        )

    return chat.filename, opened, media_files


@contextmanager
def _zip_errors_as_rejection() -> Iterator[None]:
    """Damage met while a zip member is inflated (a bad CRC, a truncated stream) rejects
    the file as `_unzipped` does."""
    try:
        yield
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:
        raise _NotAnExport(f"the zip archive cannot be read: {error}") from error
    except (EOFError, OSError, zlib.error) as error:
        raise _NotAnExport(f"the zip archive is truncated or damaged: {error}") from error


def _sniff(head: bytes, more: bool) -> None:
    """Reject a file whose first 64 KiB (`head`) hold no message header, before reading on.

    A real export starts with a header, after at most a few lines of leading
    text; 200 MB of anything else used to be decoded and split whole first.
    `more` says whether the text goes on past `head`.
    """
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head[: len(head) // 2 * 2]
        sample = head.decode("utf-16", "replace")
    else:
        sample = head.decode("utf-8", "replace")
    non_empty = 0
    for line in sample.lstrip("\ufeff").replace("\r", "\n").split("\n"):
        if _DETECT.match(line) is not None:
            return
        if line.strip():
            non_empty += 1
            if non_empty > _LEADING_TEXT_LIMIT:
                break
    if more or non_empty > _LEADING_TEXT_LIMIT:
        raise _NotAnExport(
            "not a WhatsApp chat export: no message header (date, time, sender) in its first "
            f"{min(len(head), _BINARY_SAMPLE) // 1024} KiB"
        )


def _printable(text: str) -> str:
    """`text` with control characters and undecodable bytes shown as U+FFFD."""
    return _CONTROL.sub("\ufffd", _SURROGATE.sub("\ufffd", text))


def _detect_pieces(blocks: Iterator[LineBlock], wanted: list[int]) -> Iterator[list[str]]:
    """The blocks' lines in pieces of a few more lines than the `wanted[0]` headers still
    wanted (read anew for each piece), so that no more lines are matched than needed."""
    for block in blocks:
        lines = block.lines
        at = 0
        while at < len(lines):
            size = wanted[0] + _DETECT_SAMPLE // 16
            yield lines[at : at + size] if at or size < len(lines) else lines
            at += size


def _detected_layout(blocks: Iterator[LineBlock]) -> tuple[_Layout, int]:
    """The most common header layout of the file, and the line index of its first header.

    Reads only as far as it needs: `_DETECT_SAMPLE` header-like lines, or the leading
    text that shows the file is no export. A block's lines are matched at once and their
    headers' style groups counted as written; the styles those make are then counted in
    the order each was first seen, so the most common one (ties to the first seen) is
    the one counting them header by header gives.
    """
    written: Counter[tuple[str | None, ...]] = Counter()  # in the order first seen
    first = -1
    non_empty_before = 0
    lines_before = 0  # lines of the blocks before this one
    looked_at = 0  # headers counted
    wanted = [_DETECT_SAMPLE]  # headers still wanted, as `_detect_pieces` reads it
    match = _DETECT.match
    with closing(blocks):  # type: ignore[type-var]
        for lines in _detect_pieces(blocks, wanted):
            found = list(map(match, lines))
            if first < 0:
                leading = next(
                    (index for index, header in enumerate(found) if header is not None),
                    len(lines),
                )
                for line in itertools.islice(lines, leading):
                    if line.strip():
                        non_empty_before += 1
                        if non_empty_before > _LEADING_TEXT_LIMIT:
                            break
                if non_empty_before > _LEADING_TEXT_LIMIT:
                    break
                if leading < len(lines):
                    first = lines_before + leading
            lines_before += len(lines)
            headers = list(itertools.islice(filter(None, found), _DETECT_SAMPLE - looked_at))
            looked_at += len(headers)
            wanted[0] = _DETECT_SAMPLE - looked_at
            written.update(map(re.Match.groups, headers))
            if looked_at >= _DETECT_SAMPLE:
                break
    if first < 0:
        raise _NotAnExport(
            "not a WhatsApp chat export: no line in its first lines starts with a message "
            "header (date, time, sender)"
        )
    styles: Counter[tuple[bool, str, str, str]] = Counter()
    twelve = 0
    for (opened, sep, tsep, ampm, close_text), count in written.items():
        close = "]" if "]" in close_text else ":" if ":" in close_text else "-"  # type: ignore[operator]
        styles[(opened is not None, sep, tsep, close)] += count  # type: ignore[index]
        twelve += count if ampm is not None else 0
    (bracketed, sep, tsep, close), _ = styles.most_common(1)[0]
    return _Layout(bracketed, sep, tsep, close, twelve * 2 > sum(styles.values())), first


class _DateRuns:
    """A file's header dates, one entry per run of equal dates, as deciding the date order
    needs them: their three numbers in arrays of 2 bytes each (a date has at most four
    digits a number), and how many were written with a long first or last number. A file
    whose every line has a new date costs 6 bytes a line, not three strings."""

    def __init__(self) -> None:
        self.numbers = (array("H"), array("H"), array("H"))
        self.first_long = 0
        self.last_long = 0

    def add(self, a: str, b: str, c: str) -> None:
        first, second, third = self.numbers
        first.append(int(a))
        second.append(int(b))
        third.append(int(c))
        self.first_long += len(a) >= 3
        self.last_long += len(c) >= 3


@dataclass(slots=True)
class _ChunkScan:
    """What the vectorised parser reads from one block of text (whole lines, UTF-8): its
    lines' offsets, its header lines, and for the headers the plain pattern reads
    (`fast_at`, their positions among the headers) the date and time as written
    (dictionary indices), where the text after the header starts, where ": " is in
    it on the header line, and the author before it. Headers the plain pattern does not
    read (a direction mark before them, digits that are not ASCII) keep Python's match
    in `slow`, by position."""

    chunk: bytes
    buffer: pa.Buffer
    data: np.ndarray
    starts: np.ndarray
    headers: np.ndarray
    fast_at: np.ndarray
    date_at: np.ndarray
    date_texts: list[str]
    clock_seconds: np.ndarray
    clock_good: np.ndarray
    rest_start: np.ndarray
    cut: np.ndarray
    author_at: np.ndarray
    author_texts: list[str]
    slow: dict[int, re.Match[str]]

    def rest_lines(self, picked: np.ndarray) -> pa.Array:
        """The text after the header on the header line of the plain headers `picked`
        (positions in `fast_at`)."""
        lines = self.headers[self.fast_at[picked]]
        return export_columns.slices_of(
            self.buffer, self.data, self.rest_start[picked], self.starts[lines + 1] - 1
        )

    def size(self) -> int:
        """About the bytes the scan holds: its text, the arrays of 4 or 8 bytes a header,
        and ~80 bytes a distinct date, time or author (the longest lines come whole)."""
        texts = len(self.date_texts) + len(self.author_texts)
        return len(self.chunk) + 8 * len(self.starts) + 48 * len(self.headers) + 80 * texts


@dataclass(slots=True)
class _VectorState:
    """What `vector_batches` carries from block to block."""

    id_hash: hashlib._Hash
    seen: RepeatedDigests = field(default_factory=RepeatedDigests)  # the file's digests
    carry: tuple[int, list[bytes]] | None = None  # the unfinished message: header line, bytes
    line: int = 0  # lines before the block
    last: int | None = None  # epoch seconds of the last message kept


_EMPTY_TABLE = MESSAGE_SCHEMA.empty_table()
_SENT_AT = MESSAGE_SCHEMA.field("sent_at").type


@functools.cache
def _marker_lines() -> tuple[pa.Array, pa.Array, np.ndarray]:
    """The exact marker lines (markers.EXACT) as an Arrow value set, their message types
    with "text" appended, and whether a body that is exactly that line is read alike by
    `_sender_content` without it (no edit mark in it, a person's message): a body that
    is a marker line gets no text."""
    lines = list(markers.EXACT)
    fine = [
        markers.EDITED.search(line, max(0, len(line) - 80)) is None
        and markers.EXACT[line] != "system"
        and "\n" not in line
        for line in lines
    ]
    kinds = pa.array([*(markers.EXACT[line] for line in lines), "text"], pa.string())
    return pa.array(lines, pa.string()), kinds, np.array([*fine, False], bool)


def _merged(fast: list[bytes], slow: list[bytes], slow_places: list[int]) -> list[bytes]:
    """`fast` and `slow` in one list, each in its order, the slow items at `slow_places`
    (ascending positions in the result): a few slices instead of a reordering of all."""
    merged: list[bytes] = []
    taken = 0  # fast items placed
    for count, place in enumerate(slow_places):
        merged += fast[taken : place - count]
        taken = place - count
        merged.append(slow[count])
    merged += fast[taken:]
    return merged


@functools.cache
def _marker_bytes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The byte lengths (under 256), first bytes and last bytes of the exact marker lines
    (markers.EXACT), each as a table of 256 flags."""
    lengths, firsts, lasts = np.zeros(256, bool), np.zeros(256, bool), np.zeros(256, bool)
    for line in markers.EXACT:
        encoded = line.encode()
        assert 0 < len(encoded) < 255, "a marker line's length is read from a table of 256"
        lengths[len(encoded)] = firsts[encoded[0]] = lasts[encoded[-1]] = True
    return lengths, firsts, lasts


def _marker_kinds(
    buffer: pa.Buffer,
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    ends_of: _RangeEnds | None = None,
) -> np.ndarray:
    """Which exact marker line (its index in `_marker_lines`' value set) each byte range
    [starts, ends) of a block is, or -1: Arrow's `index_in` on the ranges whose length,
    first and last byte some marker line has, the others being none. `ends_of`: the
    ranges' `_RangeEnds`, when the caller has them."""
    lengths, firsts, lasts = _marker_bytes()
    if ends_of is None:
        ends_of = _RangeEnds.of(data, starts, ends)
    maybe = lengths[np.minimum(ends - starts, 255)]
    maybe &= firsts[ends_of.first_words & np.uint64(0xFF)]
    maybe &= lasts[ends_of.last_bytes]
    kinds = np.full(len(starts), -1, np.int32)
    at = np.flatnonzero(maybe)
    if len(at):
        texts = export_columns.slices_of(buffer, data, starts[at], ends[at])
        kinds[at] = pc.index_in(texts, value_set=_marker_lines()[0]).fill_null(-1).to_numpy()
    return kinds


@dataclass(slots=True)
class _RangeEnds:
    """The first 8 bytes (as one word, `export_columns.words_at`) and the last byte of each
    byte range [starts, ends) of a block (an empty range's last byte is any), read once
    for the tests of a block's bodies that look at them."""

    first_words: np.ndarray
    last_bytes: np.ndarray

    @classmethod
    def of(cls, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> _RangeEnds:
        return cls(export_columns.words_at(data, starts), data[np.maximum(ends - 1, 0)])


# The first bytes of a body, in its first word, that make it odd: a direction mark (LRM
# E2 80 8E or RLM E2 80 8F: the third byte's last bit masked), a no-break space (C2 A0).
_MARK_MASK, _MARK = np.uint64(0xFEFFFF), np.uint64(0x8E80E2)
_NO_BREAK_MASK, _NO_BREAK = np.uint64(0xFFFF), np.uint64(0xA0C2)
_BULLET = "•".encode()
# Bytes A2 (the bullet's last) looked at one by one in a block, per byte of the block, before
# the bullets are searched for by comparing every byte instead.
_BULLET_TRIES_PER_BYTE = 1 / 1024


def _bullets(chunk: bytes, data: np.ndarray) -> np.ndarray:
    """The offsets of every "•" (E2 80 A2) in a block (`chunk`, and as `padded_block`),
    ascending. Most blocks have few A2 bytes, so they are found with bytes.find (memchr)
    and their two bytes before checked; a block with many compares every byte in NumPy."""
    found: list[int] = []
    tries = int(len(chunk) * _BULLET_TRIES_PER_BYTE) + 16
    at = chunk.find(b"\xa2", 2)
    while at >= 0:
        tries -= 1
        if not tries:
            bullets = np.flatnonzero(data[:-2] == 0xE2)
            return bullets[(data[bullets + 1] == 0x80) & (data[bullets + 2] == 0xA2)]
        if chunk[at - 2 : at] == _BULLET[:2]:
            found.append(at - 2)
        at = chunk.find(b"\xa2", at + 1)
    return np.array(found, np.int64)


def _constant(value: str, count: int) -> pa.Array:
    """`count` times the same string, as an Arrow array: its bytes repeated and offsets a
    step apart (Arrow's take of one string did it ~10x slower), or the take where the
    bytes would pass a string array's 2 GiB."""
    encoded = value.encode()
    if len(encoded) * count >= 1 << 31:
        return pa.array([value], pa.string()).take(np.zeros(count, np.int64))
    return export_columns.fixed_width_strings(encoded * count, len(encoded), count)


def _odd_bodies(
    chunk: bytes,
    data: np.ndarray,
    line_end: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    ends_of: _RangeEnds | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which of a block's bodies (the bytes [starts, ends) of `chunk`, `data` as
    export_columns.padded_block, each followed by an LF, each starting on a line that ends
    (its LF) at `line_end`) a person's plain text is not, as `column_batches` tells them
    apart, but a first line that is exactly a marker: the body ends with ">" (an edit
    mark), or its first line is empty, starts with "<", a direction mark or a space, ends
    with ")", holds "•" or starts like an encryption notice; and the offset of each
    body's first LF, or -1. Read from the bytes alone (`ends_of`: the bodies' `_RangeEnds`,
    when the caller has them)."""
    padded = data  # as export_columns.padded_block: the bytes past the block read as 0
    if ends_of is None:
        ends_of = _RangeEnds.of(data, starts, ends)
    first_words, last_bytes = ends_of.first_words, ends_of.last_bytes
    several = line_end < ends
    first_end = np.where(several, line_end, ends)
    newline = np.where(several, line_end - starts, -1)
    empty = first_end == starts
    lead = first_words & np.uint64(0xFF)
    odd = empty | (lead == ord("<")) | (lead == ord(" "))
    odd |= (first_words & _MARK_MASK) == _MARK  # LRM, RLM
    odd |= (first_words & _NO_BREAK_MASK) == _NO_BREAK
    # The first line's last byte: the body's, unless the body has more lines.
    first_last = last_bytes.copy()
    more = np.flatnonzero(several)
    first_last[more] = padded[first_end[more] - 1]
    odd |= ~empty & (first_last == ord(")"))
    odd |= (ends > starts) & (last_bytes == ord(">"))
    bullets = _bullets(chunk, data)
    if len(bullets):  # "•" on the first line
        after = np.minimum(np.searchsorted(bullets, starts), len(bullets) - 1)
        odd |= (bullets[after] >= starts) & (bullets[after] < first_end)
    # A notice's prefix: the body goes on past it (no LF in it; the LF after a body ends it).
    # Its first (up to) 8 bytes are compared as one word, the whole prefix where they match.
    for encoded, word, mask in _notice_prefixes():
        if mask == _ALL_BYTES:
            begins = np.flatnonzero(first_words == word)
        else:
            begins = np.flatnonzero((first_words & mask) == word)
        if len(begins):
            window = np.lib.stride_tricks.sliding_window_view(padded, len(encoded))
            odd[begins] |= (window[starts[begins]] == encoded).all(axis=1)
    return odd, newline


_ALL_BYTES = np.uint64(2**64 - 1)


@functools.cache
def _notice_prefixes() -> list[tuple[np.ndarray, np.uint64, np.uint64]]:
    """markers.NOTICE_PREFIXES in UTF-8 bytes, each with its first (up to) 8 bytes as a
    little-endian word and the mask of those bytes (see `export_columns.words_at`)."""
    prefixes = []
    for prefix in markers.NOTICE_PREFIXES:
        encoded = prefix.encode()
        head = encoded[:8]
        word = np.uint64(int.from_bytes(head, "little"))
        mask = np.uint64((1 << (8 * len(head))) - 1)
        prefixes.append((np.frombuffer(encoded, np.uint8), word, mask))
    return prefixes


def decided_date_order(dates: list[tuple[str, str, str]]) -> str:
    """The date order ("DMY", "MDY", "YMD") that best explains a file's dates, in file order.

    Each candidate order is scored, best first, on: how many dates it makes
    impossible (month 13, 31 February); how often it makes the date run
    backwards (chats are chronological); whether its day position changes
    more often than its month position. Ties go to DMY, then MDY, then YMD.
    `dates` are the three numbers of each header's date as written,
    preferably one entry per run of equal dates.
    """
    runs = _DateRuns()
    for a, b, c in dates:
        runs.add(a, b, c)
    return _decided_order(runs)


def _decided_order(runs: _DateRuns) -> str:
    """`decided_date_order` of dates already read into `runs`."""
    if not runs.numbers[0]:
        return "DMY"
    first_long, last_long = runs.first_long, runs.last_long
    if first_long > last_long:
        candidates: tuple[str, ...] = ("YMD",)
    elif last_long:
        candidates = ("DMY", "MDY")
    else:
        candidates = DATE_ORDERS
    if len(candidates) == 1:
        return candidates[0]
    changes = [0, 0, 0]
    for previous, current in itertools.pairwise(zip(*runs.numbers, strict=True)):
        for position in range(3):
            changes[position] += previous[position] != current[position]
    scores = []
    for preference, order in enumerate(candidates):
        y_pos, m_pos, d_pos = order.index("Y"), order.index("M"), order.index("D")
        invalid = backwards = 0
        previous_key: tuple[int, int, int] | None = None
        for triple in zip(*runs.numbers, strict=True):  # read again, never held as objects
            key = (_full_year(triple[y_pos]), triple[m_pos], triple[d_pos])
            try:
                date(*key)
            except ValueError:
                invalid += 1
                continue
            if previous_key is not None and key < previous_key:
                backwards += 1
            previous_key = key
        scores.append((invalid, backwards, changes[m_pos] - changes[d_pos], preference, order))
    return min(scores)[-1]


def _full_year(year: int) -> int:
    """A four-digit year from an export's two- or four-digit one (WhatsApp is from 2009)."""
    return year + 2000 if year < 100 else year


def _media_kind_of(file_name: str) -> str:
    """The message type a media file name implies: image, video, audio, sticker, ... or document."""
    tagged = _KIND_BY_NAME.search(file_name)
    if tagged:
        return _KIND_BY_TAG[tagged["ios"] or tagged["android"]]
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return _KIND_BY_EXTENSION.get(extension, "document")


def _mime_of(file_name: str) -> str | None:
    """The MIME type of a media file, from its extension."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return _MIME_BY_EXTENSION.get(extension) or mimetypes.guess_type(file_name, strict=False)[0]


class _ExportParser:
    """One export's text → rows. Holds the per-file decisions and caches; used once.

    `scanned` reads the text once to take the whole-file decisions (layout, date
    order, the authors that are the group itself), keeping only what they need;
    `batches` reads it again and builds the rows a batch at a time.
    """

    def __init__(
        self,
        *,
        name: str,
        open_chat: Callable[[], BinaryIO],
        title: str,
        conversation_id: str,
        zone: ZoneInfo,
        timezone: str,
        landed_at: datetime,
        forced_order: str | None,
        media: dict[str, MediaFile],
        max_authors: int,
        vectorise: bool = False,
        kept_scan_bytes: int = _KEPT_SCAN_BYTES,
        block_reads: int = 2,
    ) -> None:
        self.name = name
        self.open_chat = open_chat
        self.utf16 = False
        self.title = title
        self.conversation_id = conversation_id
        self.id_key = conversation_id.encode("utf-8")
        self.zone = zone
        self.timezone = timezone
        self.landed_at = landed_at
        self.forced_order = forced_order
        self.media = media
        self.layout: _Layout | None = None
        self.first = 0  # index of the first header-like line
        # author -> [lines judged, lines read as notices]; the first `max_authors` authors only
        self.judged: dict[str, list[int]] = {}
        self.max_authors = max_authors
        self.crowded = False  # the text has more distinct authors than `max_authors`
        self.group_authors: set[str] = set()
        self.quarantine: list[QuarantineRecord] = []  # rows of the batch being built
        self.waiting: list[QuarantineRecord] = []  # rows before the first message: no time yet
        self.last_sent_at: datetime | None = None  # of the last message of earlier batches
        self.messages: list[MessageRecord] = []  # the batch being built
        self.day_cache: dict[str, tuple[int, int | None, date]] = {}
        self.plain = True  # no NUL and no undecodable bytes: the whole-block parser may read it
        self.sender_cache: dict[str, tuple[str, str | None]] = {}
        # The time as written -> (seconds into the day, None) or (0, what is wrong with it).
        self.clock_cache: dict[str, tuple[int, str | None]] = {}
        self.too_many_authors = (
            f"the export has more than {max_authors:,} distinct senders, the most one "
            "export may have (export_max_authors; a WhatsApp group holds at most 1,024 "
            "members): the message of a sender beyond them is dropped"
        )
        # The vectorised first pass's scans of a small text, kept for the second pass.
        self.scans: list[_ChunkScan] | None = None
        self.kept_scan_bytes = kept_scan_bytes  # the most those scans may hold
        self.block_reads = block_reads  # reads a block of `byte_blocks` (export_text.block_reads)
        self.vectorise = vectorise  # `scanned` may read a UTF-8 text with `vector_scanned`
        self.vectorised = False  # `scanned` took the decisions with the vectorised scan
        # RE2 header, RE2 plain header, Python header match, Python clock match (`scan`).
        self.patterns: (
            tuple[
                str, str, Callable[..., re.Match[str] | None], Callable[..., re.Match[str] | None]
            ]
            | None
        ) = None
        self.block_pattern: re.Pattern[str] | None = None
        self.shape: export_columns.HeaderShape | None = None  # the usual header (`scan`)
        self.constants: dict[str, pa.Array] = {}  # the file's constant columns (`columns_table`)

    def blocks(self, read_divisor: int = 1) -> Iterator[LineBlock]:
        """The text's lines from its start, a block at a time (see export_text)."""
        return line_blocks(self.open_chat, utf16=self.utf16, read_divisor=read_divisor)

    def reject(self, index: int, reason: str, excerpt: str) -> None:
        """Quarantine line `index` (0-based) with a reason a person understands, filed under
        the time of the message before it (or, before the first, of the first)."""
        previous = self.messages[-1].sent_at if self.messages else self.last_sent_at
        row = QuarantineRecord(
            self.name,
            f"line {index + 1}",
            reason,
            _printable(excerpt)[:EXCERPT_CHARS],
            self.landed_at,
            previous,
        )
        (self.quarantine if previous is not None else self.waiting).append(row)

    def scanned(self) -> str:
        """Read the whole text once: reject a file that is no export, decide the date order
        (returned) and the authors that are the group itself.

        With `vectorise`, a UTF-8 text that starts with a header is read by `vector_scanned`
        instead, which `vector_batches` then reads rows from; any text it cannot judge
        alike (NUL, bytes that are not UTF-8) is read by the line reader as before."""
        with _zip_errors_as_rejection(), closing(self.open_chat()) as raw:  # type: ignore[type-var]
            head = raw.read(_BINARY_SAMPLE + 1)
        _sniff(head[:_BINARY_SAMPLE], len(head) > _BINARY_SAMPLE)
        head = head[:_BINARY_SAMPLE]
        self.utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
        if not self.utf16 and head.count(b"\x00") * 100 > len(head):
            raise _NotAnExport(  # over 1% of NUL: binary, not stray bytes
                "not a WhatsApp chat export: the file is binary (it is full of NUL bytes)"
            )
        layout_error: _NotAnExport | None = None
        with _zip_errors_as_rejection():
            try:
                # Blocks of a quarter: it reads ~1.3 blocks' lines of a usual export.
                self.layout, self.first = _detected_layout(self.blocks(4))
            except _NotAnExport as error:  # reported after a decoding problem, which comes first
                layout_error = error
            except UnicodeDecodeError:
                pass  # the full read below reports it
        if (
            self.vectorise
            and self.layout is not None
            and layout_error is None
            and not self.utf16
            and self.first == 0
        ):
            runs = self.vector_scanned()  # None: the text needs the line reader's judgments
            if runs is not None:
                self.vectorised = True
                self.decide_group_authors()
                return self.forced_order or _decided_order(runs)
        match = self.layout.header_pattern().match if self.layout is not None else None
        first = self.first
        judged = self.judged
        runs = _DateRuns()  # one entry per run of equal dates
        last_date = None
        headers = lines = undecodable = 0
        try:
            with _zip_errors_as_rejection():
                for block in self.blocks():
                    base = lines
                    lines += len(block.lines)
                    if block.undecodable:
                        undecodable += len(block.undecodable)
                    if block.nul:
                        self.plain = False
                    if match is None:
                        continue
                    start = max(0, first - base)
                    found_in_block = [
                        found
                        for line in itertools.islice(block.lines, start, None)
                        if (found := match(line)) is not None
                    ]
                    headers += len(found_in_block)
                    for found in found_in_block:
                        date_text = found[1]
                        if date_text != last_date:
                            last_date = date_text
                            runs.add(*found.group(2, 3, 4))
                        rest = found[9]
                        cut = rest.find(": ")
                        if cut > 0:
                            tally = judged.get(rest[:cut])
                            if tally is None or tally[0] < _AUTHOR_LINES_JUDGED:
                                self.tally(rest)
        except UnicodeDecodeError as error:
            raise _NotAnExport("the file claims UTF-16 but cannot be decoded") from error
        if undecodable:
            self.plain = False
        if undecodable > max(3, lines // 10):
            raise _NotAnExport(
                f"not a WhatsApp chat export: {undecodable} of {lines} lines are not UTF-8 text"
            )
        if layout_error is not None:
            raise layout_error
        if not headers:  # the detected layout was a minority oddity; cannot happen in practice
            raise _NotAnExport("not a WhatsApp chat export: no consistent message headers")
        self.decide_group_authors()
        return self.forced_order or _decided_order(runs)

    def decide_group_authors(self) -> None:
        """The authors that are the group itself, from the tallies of their first lines."""
        judged = self.judged
        # The group's name among at least two people: a one-to-one chat's title is the contact.
        title_key = _title_key(self.title) if len(judged) >= 3 else None
        self.group_authors = {
            author
            for author, (seen, notices) in judged.items()
            if seen
            and (
                notices >= 0.8 * seen or (notices >= 0.5 * seen and _title_key(author) == title_key)
            )
        }

    def tally(self, rest: str) -> None:
        """Count a header's author among those judged: newer exports write group events
        under the group's name, judged on each author's first lines.

        Encryption notices are not judged: they are system lines on their own, and iOS
        writes them under the contact's name in a one-to-one chat, whose title is that
        name too. Only the first `max_authors` distinct authors are kept, so that what
        is held per author is bounded whatever the file (see `batches`).
        """
        cut = rest.find(": ")
        if cut > 0 and _AUTHOR_QUOTES.isdisjoint(author := rest[:cut]):
            tally = self.judged.get(author)
            if tally is None:
                if len(self.judged) >= self.max_authors:  # kept out: its lines are quarantined
                    self.crowded = True
                    return
                tally = self.judged[author] = [0, 0]
            body = rest[cut + 2 :]
            if tally[0] < _AUTHOR_LINES_JUDGED and not markers.NOTICE.match(body.lstrip(_MARKS)):
                tally[0] += 1
                tally[1] += _looks_like_notice(body)

    def vector_scanned(self) -> _DateRuns | None:
        """`scanned`'s whole-file reading with Arrow and NumPy, a block of bytes at a time:
        the date runs (returned), the author tallies and the decision that the text is
        plain, or None (and nothing decided) when the text needs the line reader: NUL or
        bytes that are not UTF-8, or a first line that is no header of the layout.

        A text whose scans hold up to `kept_scan_bytes` keeps them for `vector_batches`, so it
        is read and searched once; a larger one is scanned again block by block then.
        """
        assert self.layout is not None
        runs = _DateRuns()
        last_date: str | None = None
        headers = 0
        kept: list[_ChunkScan] | None = []
        kept_bytes = 0
        with _zip_errors_as_rejection():
            for chunk in byte_blocks(self.open_chat, self.block_reads):
                if b"\x00" in chunk or not export_columns.is_utf8(pa.py_buffer(chunk)):
                    self.judged, self.crowded = {}, False
                    return None
                scan = self.scan(chunk)
                if not headers and (not len(scan.headers) or scan.headers[0] != 0):
                    self.judged, self.crowded = {}, False
                    return None  # text before the first header: the line reader judges it
                headers += len(scan.headers)
                last_date = self.judge(scan, runs, last_date)
                if kept is not None:
                    kept_bytes += scan.size()
                    if kept_bytes <= self.kept_scan_bytes:
                        kept.append(scan)
                    else:
                        kept = None
        if not headers:
            self.judged, self.crowded = {}, False
            return None
        self.scans = kept
        return runs

    def scan(self, chunk: bytes) -> _ChunkScan:
        """A block's header lines and what the fast path reads from them (see _ChunkScan)."""
        assert self.layout is not None
        if self.patterns is None:
            self.patterns = (
                self.layout.re2_header(),
                self.layout.re2_plain_header(),
                self.layout.header_pattern().match,
                self.layout.clock_pattern().fullmatch,
            )
        _, plain, python_match, _ = self.patterns
        data = export_columns.padded_block(chunk)
        buffer = pa.py_buffer(data)
        starts = export_columns.line_starts(data)
        lines = export_columns.lines_of(buffer, starts)
        if self.shape is None:  # learnt from the first headers the plain pattern reads
            first = pc.extract_regex(lines.slice(0, _SHAPE_SAMPLE), plain).drop_null()
            self.shape = self.layout.header_shape(
                first.field("date").to_pylist(), first.field("clock").to_pylist()
            )
        shape = self.shape
        # Lines of the file's usual header shape are plain headers without a regex; the
        # patterns read the others.
        lead = data[starts[:-1]]  # each line's first byte
        shaped, shaped_words = shape.lines(data, starts, lead) if shape is not None else (None, [])
        # The other lines that may be headers: a header starts with a direction mark, "["
        # or a digit, so a line whose first byte is ASCII and none of these (most
        # continuation lines) is not one. Those the plain pattern does not read are
        # matched by Python's header pattern below, which decides as RE2's `general`
        # would with it (RE2's Unicode digits are a superset of Python's), without the
        # ~0.5 ms that compiling `general` costs every call.
        maybe = (lead - 48 < 10) | (lead == ord("[")) | (lead >= 0x80)
        if shaped is not None:
            maybe &= ~shaped
        candidates = np.flatnonzero(maybe)
        # The plain pattern reads ASCII digits with no mark before them: it is asked only
        # about the lines that start with an ASCII byte ("[" or a digit).
        asked = np.flatnonzero(lead[candidates] < 0x80)
        fast = np.zeros(len(candidates), bool)
        date_length = np.zeros(len(candidates), np.int64)
        clock_length = np.zeros(len(candidates), np.int64)
        if len(asked):
            extracted = pc.extract_regex(lines.take(candidates[asked]), plain)
            fast[asked] = extracted.is_valid().to_numpy(zero_copy_only=False)
            date_length[asked] = pc.binary_length(extracted.field("date")).fill_null(0).to_numpy()
            clock_length[asked] = pc.binary_length(extracted.field("clock")).fill_null(0).to_numpy()
        slow: dict[int, re.Match[str]] = {}
        if not fast.all():
            keep = np.ones(len(candidates), bool)
            unread = np.flatnonzero(~fast)
            unread_lines = candidates[unread]
            for position, begin, end in zip(
                unread.tolist(),
                starts[unread_lines].tolist(),
                (starts[unread_lines + 1] - 1).tolist(),
                strict=True,
            ):
                found = python_match(chunk[begin:end].decode())
                if found is None:  # no header (a continuation line starting with "¿" or 😀)
                    keep[position] = False
                else:
                    slow[position] = found
            if not keep.all():
                renumber = np.cumsum(keep) - 1
                slow = {int(renumber[position]): found for position, found in slow.items()}
                candidates, fast = candidates[keep], fast[keep]
                date_length, clock_length = date_length[keep], clock_length[keep]
        if shaped is not None and shaped.any() and not len(candidates):  # shaped headers only
            candidates = np.flatnonzero(shaped)
            fast = np.ones(len(candidates), bool)
            date_length = np.full(len(candidates), shape.date_length)  # type: ignore[union-attr]
            clock_length = np.full(len(candidates), shape.clock_length)  # type: ignore[union-attr]
        elif shaped is not None and shaped.any():  # the shaped headers join the others in order
            shaped_lines = np.flatnonzero(shaped)
            together = np.concatenate((shaped_lines, candidates))
            arrangement = np.argsort(together, kind="stable")
            place = np.empty(len(together), np.int64)
            place[arrangement] = np.arange(len(together))
            slow = {int(place[len(shaped_lines) + at]): found for at, found in slow.items()}
            candidates = together[arrangement]
            fast = np.concatenate((np.ones(len(shaped_lines), bool), fast))[arrangement]
            date_length = np.concatenate(
                (np.full(len(shaped_lines), shape.date_length), date_length)  # type: ignore[union-attr]
            )[arrangement]
            clock_length = np.concatenate(
                (np.full(len(shaped_lines), shape.clock_length), clock_length)  # type: ignore[union-attr]
            )[arrangement]
        fast_at = np.flatnonzero(fast)
        line_at = candidates[fast_at]
        date_start = starts[line_at] + (1 if self.layout.bracketed else 0)
        date_end = date_start + date_length[fast_at]
        rest_start = date_end + clock_length[fast_at]
        if (
            shape is not None
            and shape.keyed
            and shaped is not None
            and shaped.sum() == len(line_at)
        ):
            # Every plain header has the usual shape (so `line_at` are the shaped lines): dates
            # and clocks told apart by their digits.
            date_at, date_first = shape.dates(data, starts[line_at], shaped_words)
            date_texts = export_columns.views_of(
                buffer, data, date_start[date_first], date_end[date_first]
            ).to_pylist()
            clocks = shape.clocks(shaped_words, self.layout.twelve_hour)
        else:
            dates = pc.dictionary_encode(
                export_columns.views_of(buffer, data, date_start, date_end)
            )
            date_at, date_texts = dates.indices.to_numpy(), dates.dictionary.to_pylist()
            written = pc.dictionary_encode(
                export_columns.views_of(buffer, data, date_end, rest_start)
            )
            clocks = self.clock_values(written.indices.to_numpy(), written.dictionary.to_pylist())
        # Where ": " first comes after the header on its line (-1: not on the line): looked
        # for in the bytes right after the header (where an author's name ends), and on the
        # rest of the line with bytes.find for the few headers that have none there.
        line_end = starts[line_at + 1] - 1
        width = export_columns.PAD
        window = np.lib.stride_tricks.sliding_window_view(data, width + 1)[rest_start]
        pairs = (window[:, :-1] == ord(":")) & (window[:, 1:] == ord(" "))
        first = pairs.argmax(axis=1)
        hit = pairs[np.arange(len(first)), first]
        cut = np.where(hit & (rest_start + first < line_end), first, -1)
        far = np.flatnonzero(~hit & (line_end > rest_start + width))
        for at, rest_at, end in zip(
            far.tolist(), rest_start[far].tolist(), line_end[far].tolist(), strict=True
        ):
            found = chunk.find(b": ", rest_at, end)
            cut[at] = found - rest_at if found >= 0 else -1
        named = cut > 0
        authors = pc.dictionary_encode(
            export_columns.views_of(buffer, data, rest_start[named], rest_start[named] + cut[named])
        )
        author_at = np.full(len(fast_at), -1, np.int32)
        author_at[named] = authors.indices.to_numpy()
        return _ChunkScan(
            chunk=chunk,
            buffer=buffer,
            data=data,
            starts=starts,
            headers=candidates,
            fast_at=fast_at,
            date_at=date_at,
            date_texts=date_texts,
            clock_seconds=clocks[0],
            clock_good=clocks[1],
            rest_start=rest_start,
            cut=cut,
            author_at=author_at,
            author_texts=authors.dictionary.to_pylist(),
            slow=slow,
        )

    def clock_values(self, at: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The times of headers written as `texts[at]` (the plain pattern's clock): seconds
        into the day and whether it is a time (`_clock_of`), each distinct text read once
        (and cached for the file)."""
        assert self.layout is not None and self.patterns is not None
        clock_match = self.patterns[3]
        seconds_of_day, good_clocks = [], []
        twelve_hour = self.layout.twelve_hour
        for text in texts:
            timed = self.clock_cache.get(text)
            if timed is None:
                if len(self.clock_cache) >= _CLOCK_CACHE_LIMIT:
                    self.clock_cache.clear()
                found = clock_match(text)
                timed = (
                    (0, "unread") if found is None else _clock_of(*found.groups(), twelve_hour)  # type: ignore[arg-type]
                )
                self.clock_cache[text] = timed
            seconds_of_day.append(timed[0])
            good_clocks.append(timed[1] is None)
        return np.array(seconds_of_day, np.int64)[at], np.array(good_clocks, bool)[at]

    def judge(self, scan: _ChunkScan, runs: _DateRuns, last_date: str | None) -> str | None:
        """Add a block's header dates to `runs` (one entry per run of equal dates) and tally
        its authors' first lines, as `scanned` does line by line; the block's last date."""
        assert self.layout is not None
        count = len(scan.headers)
        if not count:
            return last_date
        texts = list(scan.date_texts)
        date_ids = np.empty(count, np.int64)
        date_ids[scan.fast_at] = scan.date_at
        if scan.slow:
            known = {text: number for number, text in enumerate(texts)}
            for position, found in scan.slow.items():
                number = known.get(found[1])
                if number is None:
                    number = known[found[1]] = len(texts)
                    texts.append(found[1])
                date_ids[position] = number
        changes = (np.flatnonzero(date_ids[1:] != date_ids[:-1]) + 1).tolist()
        if texts[date_ids[0]] != last_date:
            changes.insert(0, 0)
        sep = self.layout.date_sep
        for position in changes:
            runs.add(*texts[date_ids[position]].split(sep))
        # Authors: only the lines of authors not yet judged on their first lines are read,
        # a window of headers at a time (a block's first window usually judges them all).
        judged = self.judged
        slow_positions = sorted(scan.slow)
        for low in range(0, count, _JUDGED_WINDOW):
            high = low + _JUDGED_WINDOW
            open_authors = [
                number
                for number, author in enumerate(scan.author_texts)
                if (tally := judged.get(author)) is None or tally[0] < _AUTHOR_LINES_JUDGED
            ]
            slow_in = slow_positions[
                bisect.bisect_left(slow_positions, low) : bisect.bisect_left(slow_positions, high)
            ]
            if not open_authors and not slow_in:
                if not slow_positions or slow_positions[-1] < low:
                    break
                continue
            first, last = np.searchsorted(scan.fast_at, [low, high]).tolist()
            picked = first + np.flatnonzero(np.isin(scan.author_at[first:last], open_authors))
            rests: dict[int, str] = dict(
                zip(
                    scan.fast_at[picked].tolist(),
                    scan.rest_lines(picked).to_pylist(),
                    strict=True,
                )
            )
            for position in slow_in:
                rests[position] = scan.slow[position][9]
            for position in sorted(rests):
                rest = rests[position]
                cut = rest.find(": ")
                if cut > 0:
                    tally = judged.get(rest[:cut])
                    if tally is None or tally[0] < _AUTHOR_LINES_JUDGED:
                        self.tally(rest)
        return texts[date_ids[-1]]

    def vector_batches(self, order: str) -> Iterator[ExportBatch]:
        """The rows of `column_batches` from `vector_scanned`'s block scans: a block's plain
        messages (a person's text, a header without marks, a day without DST change, a
        valid time) are read with Arrow and NumPy, the rest with `one_message`, and each
        block's messages are one Arrow table, in line order.

        A message is the bytes from its header line to the next header; the last one of
        a block is carried into the next block and read with `one_message`.
        """
        assert self.layout is not None
        scans: Iterable[_ChunkScan]
        if self.scans is not None:
            scans, self.scans = self.scans, None
        else:
            scans = (self.scan(chunk) for chunk in byte_blocks(self.open_chat, self.block_reads))
        state = _VectorState(hashlib.blake2b(key=self.id_key, digest_size=DIGEST_BYTES))
        with _zip_errors_as_rejection(), collector_paused():
            for scan in scans:
                yield from self.chunk_batches(scan, order, state)
            if state.carry is not None:
                index, parts = state.carry
                whole = b"".join(parts).decode().rstrip("\n")
                found = self.block_match(whole)
                made = self.one_message(index, found, found.start(10), whole, order, state.last)
                if made is not None:
                    values, _, encoded = made
                    message_id = self.ids_of([encoded + b"\x1f0"], state)[0].as_py()
                    yield self.finished_columns([(message_id, *values)])
        batch = self.finished_columns([])
        if self.waiting:  # no message at all: rejected lines keep no time (their file's landing)
            batch.quarantine = [*self.waiting, *batch.quarantine]
            self.waiting = []
        yield batch

    def block_match(self, whole: str) -> re.Match[str]:
        """The layout's block pattern on a message's text (it starts with its header)."""
        assert self.layout is not None
        if self.block_pattern is None:
            self.block_pattern = self.layout.block_pattern()
        found = self.block_pattern.match(whole)
        assert found is not None, "a scanned header is a header"
        return found

    def chunk_batches(
        self, scan: _ChunkScan, order: str, state: _VectorState
    ) -> Iterator[ExportBatch]:
        """The rows of one block's messages (and of the message carried into it)."""
        assert self.layout is not None and self.patterns is not None
        headers, starts, chunk = scan.headers, scan.starts, scan.chunk
        count = len(headers)
        if not count:  # the carried message goes on through the whole block
            if state.carry is not None:
                state.carry[1].append(chunk)
            state.line += len(starts) - 1
            return
        carried = state.carry
        if carried is not None:
            carried[1].append(chunk[: starts[headers[0]]])
        base = state.line  # the block's first line in the file
        state.line += len(starts) - 1
        state.carry = (base + int(headers[-1]), [chunk[starts[headers[-1]] :]])
        # Per distinct date, time and author of the block: what the fast path needs.
        day_cache, sep = self.day_cache, self.layout.date_sep
        local_midnights, utc_midnights, good_days = [], [], []
        for text in scan.date_texts:
            day = day_cache.get(text)
            if day is None:
                day = self.day_of(text, *text.split(sep), order)
            local_midnights.append(day[0])
            utc_midnights.append(day[1] or 0)
            good_days.append(day[1] is not None)  # not impossible, storable, no DST change
        group_authors = self.group_authors
        crowded = self.crowded
        good_authors = [
            not crowded and _AUTHOR_QUOTES.isdisjoint(author) and author not in group_authors
            for author in scan.author_texts
        ]
        # Only the kept senders are cached: over `max_authors` of them, none is.
        senders = [
            self.sender_of(author) if good else (author, None)
            for author, good in zip(scan.author_texts, good_authors, strict=True)
        ]
        # The fast messages: complete in the block (not the last header), a plain header.
        fast_at = scan.fast_at
        author_at = scan.author_at
        timely = (fast_at < count - 1) & np.array(good_days, bool)[scan.date_at] & scan.clock_good
        fast = timely & (author_at >= 0)
        # System lines read here too: a header with no ":" after it on its line (no author
        # to find), or one under the group's own name (see `one_message`).
        system = timely & (author_at < 0)
        if self.crowded:
            fast[:] = False
            system[:] = False
        elif good_authors:
            own = np.array(good_authors, bool)[np.maximum(author_at, 0)]
            fast &= own
            group_named = [
                _AUTHOR_QUOTES.isdisjoint(author) and author in group_authors
                for author in scan.author_texts
            ]
            if any(group_named):
                system |= timely & (author_at >= 0) & np.array(group_named)[author_at]
        lone = np.flatnonzero(system & (author_at < 0))
        if len(lone):
            line_end = (starts[headers[fast_at[lone]] + 1] - 1).tolist()
            for at, rest_at, end in zip(
                lone.tolist(), scan.rest_start[lone].tolist(), line_end, strict=True
            ):
                if chunk.find(b":", rest_at, end) >= 0:
                    system[at] = False
        picked = np.flatnonzero(fast | system)
        is_system = system[picked]
        position = fast_at[picked]  # index among the block's headers
        cut = scan.cut[picked]
        body_start = scan.rest_start[picked] + np.where(cut > 0, cut + 2, 0)
        body_end = starts[headers[position + 1]] - 1
        # A body that is exactly a marker line ("<Media omitted>") is read here too; any
        # other whose first line may be one, or that ends like an edit mark, is not.
        _, marker_kinds, marker_fine = _marker_lines()
        ends_of = _RangeEnds.of(scan.data, body_start, body_end)
        kind_at = _marker_kinds(scan.buffer, scan.data, body_start, body_end, ends_of)
        odd, newline = _odd_bodies(
            chunk, scan.data, starts[headers[position] + 1] - 1, body_start, body_end, ends_of
        )
        several = np.flatnonzero(newline >= 0)
        if len(several):
            first_ends = body_start[several] + newline[several]
            odd[several] |= (
                _marker_kinds(scan.buffer, scan.data, body_start[several], first_ends) >= 0
            )
        marked = (kind_at >= 0) & ~is_system
        keep = np.where(marked, marker_fine[kind_at], ~odd)
        data = scan.data
        # A body ending with ">" (an edit mark, or not) is typed as `one_message` types a
        # person's message, with `_sender_content` itself: a text (edited or not) is read
        # here with that text, anything else one by one.
        ending = np.flatnonzero(~keep & ~marked & ~is_system & (ends_of.last_bytes == ord(">")))
        retyped = np.zeros(len(keep), bool)
        edited = np.zeros(len(keep), bool)
        retyped_texts: list[str | None] = []
        if len(ending):
            for at, start, end in zip(
                ending.tolist(),
                body_start[ending].tolist(),
                body_end[ending].tolist(),
                strict=True,
            ):
                body = chunk[start:end].decode()
                message_type, text, is_edited, media_name = _sender_content(
                    body, body.partition("\n")[0], markers.EXACT
                )
                if message_type == "text" and media_name is None:
                    keep[at] = retyped[at] = True
                    edited[at] = is_edited
                    retyped_texts.append(text)
        if is_system.any():  # a system line's text is its body, unless marks start it
            keep[is_system] = (ends_of.first_words[is_system] & _MARK_MASK) != _MARK
        if not keep.all():
            picked, position, kind_at = picked[keep], position[keep], kind_at[keep]
            body_start, body_end = body_start[keep], body_end[keep]
            marked, is_system = marked[keep], is_system[keep]
            retyped, edited = retyped[keep], edited[keep]
        bodies = export_columns.slices_of(scan.buffer, data, body_start, body_end)
        # The others in line order, read one by one; the carried message comes first.
        unpicked = np.ones(count - 1, bool)  # (the block's last header is carried)
        unpicked[position] = False
        slow_positions = np.flatnonzero(unpicked)
        fast_seconds = (
            np.array(utc_midnights, np.int64)[scan.date_at[picked]] + scan.clock_seconds[picked]
        )
        slow_rows: list[tuple[object, ...]] = []
        slow_at: list[int] = []  # order keys: the carried message -1, the others their position
        slow_keys: list[bytes] = []
        slow_seconds: list[int] = []
        slow_lines: list[int] = []
        previous_fast = np.searchsorted(position, slow_positions)
        last_slow: tuple[int, int] | None = None
        todo = [(-1, 0)] if carried is not None else []
        todo += list(zip(slow_positions.tolist(), previous_fast.tolist(), strict=True))
        for at, before in todo:
            last = state.last
            if before > 0 and (last_slow is None or position[before - 1] > last_slow[0]):
                last = int(fast_seconds[before - 1])
            elif last_slow is not None:
                last = last_slow[1]
            if at < 0:
                index, parts = carried  # type: ignore[misc]
                whole = b"".join(parts)[:-1].decode()
            else:
                line = int(headers[at])
                index = base + line
                whole = chunk[starts[line] : starts[headers[at + 1]] - 1].decode()
            found = self.block_match(whole)
            made = self.one_message(index, found, found.start(10), whole, order, last)
            if made is None:
                if len(self.waiting) >= BATCH_ROWS:  # `finished_columns` of no rows
                    self.quarantine = sorted(
                        [*self.waiting, *self.quarantine],
                        key=lambda row: int(row.location.split()[1]),
                    )
                    self.waiting = []
                if len(self.quarantine) >= BATCH_ROWS:
                    yield ExportBatch([], self.quarantine, _EMPTY_TABLE)
                    self.quarantine = []
                continue
            values, seconds, encoded = made
            slow_rows.append(values)
            slow_at.append(at)
            slow_keys.append(encoded + b"\x1f0")
            slow_seconds.append(seconds)
            slow_lines.append(index + 1)
            last_slow = (at, seconds)
        fast_count = len(picked)
        if not fast_count and not slow_rows:
            if self.quarantine:
                yield ExportBatch([], self.quarantine, _EMPTY_TABLE)
                self.quarantine = []
            return
        # Keys and ids of every message, in line order.
        order_keys = np.concatenate((position, np.array(slow_at, np.int64)))
        arrangement = np.argsort(order_keys, kind="stable")
        fast_authors = author_at[picked]
        author_array = pa.array([*scan.author_texts, ""], pa.string())  # "": no author
        sender_codes = np.where(is_system, len(senders), fast_authors)
        local_seconds = (
            np.array(local_midnights, np.int64)[scan.date_at[picked]] + scan.clock_seconds[picked]
        )
        keys = pc.binary_join_element_wise(
            export_columns.decimal_texts(local_seconds),
            author_array.take(np.where(fast_authors < 0, len(scan.author_texts), fast_authors)),
            bodies,
            "0",
            "\x1f",
        )
        every_key = keys.cast(pa.binary()).to_pylist()
        slow_places = np.flatnonzero(arrangement >= fast_count).tolist()  # in their order
        if slow_keys:  # the few others go in at their places
            every_key = _merged(every_key, slow_keys, slow_places)
        ids = self.ids_of(every_key, state)
        seconds = np.concatenate((fast_seconds, np.array(slow_seconds, np.int64)))[arrangement]
        lines = np.concatenate((base + headers[position] + 1, np.array(slow_lines, np.int64)))[
            arrangement
        ]
        string = pa.string()
        total = len(arrangement)

        def chosen(vocabulary: list[str | None], fast_codes: np.ndarray, slow_values: list[object]):
            """Fast rows' values by their codes in `vocabulary`, and the slow rows' own."""
            codes = np.concatenate(
                (fast_codes, np.arange(len(vocabulary), len(vocabulary) + len(slow_values)))
            )
            return pa.array([*vocabulary, *slow_values], string).take(codes[arrangement])

        def sparse(slow_values: list[object], kind: pa.DataType) -> pa.Array:
            """A column null in every fast row."""
            if all(value is None for value in slow_values):
                return pa.nulls(total, kind)
            values: list[object] = [None] * total
            for place, value in zip(slow_places, slow_values, strict=True):
                values[place] = value
            return pa.array(values, kind)

        def flags(fast_values: np.ndarray | None, slow_values: list[object]) -> pa.Array:
            """A column of the fast rows' flags (None: all false) and the slow rows' own."""
            values = np.zeros(total, bool)
            if fast_values is not None:
                values[: len(fast_values)] = fast_values
                values = values[arrangement]
            values[slow_places] = np.array(slow_values, bool)
            return pa.array(values)

        columns = list(zip(*slow_rows, strict=True)) if slow_rows else [()] * 12
        # The text column in one take: a fast row's body (none for a marker, the retyped
        # text for a body ending with ">"), a slow row's own text.
        source = np.arange(fast_count)
        if retyped.any():
            source[retyped] = fast_count + len(columns[4]) + np.arange(len(retyped_texts))
        texts = pa.concat_arrays(
            [bodies, pa.array(columns[4], string), pa.array(retyped_texts, string)]
        ).take(
            pa.array(
                np.concatenate((source, fast_count + np.arange(len(columns[4]))))[arrangement],
                mask=np.concatenate((marked, np.zeros(len(columns[4]), bool)))[arrangement],
            )
        )
        table = self.columns_table(
            ids,
            chosen([*(sender[1] for sender in senders), None], sender_codes, columns[0]),
            chosen([*(sender[0] for sender in senders), None], sender_codes, columns[1]),
            seconds,
            chosen(
                [*marker_kinds.to_pylist(), "system"],
                np.where(
                    is_system, len(marker_kinds), np.where(marked, kind_at, len(marker_kinds) - 1)
                ),
                columns[3],
            ),
            texts,
            sparse(columns[5], string),
            flags(is_system if is_system.any() else None, columns[6]),
            flags(edited if edited.any() else None, columns[7]),
            lines,
            sparse(columns[9], string),
            sparse(columns[10], string),
            sparse(columns[11], pa.int64()),
        )
        state.last = int(seconds[-1])
        yield self.finished_table(table, int(seconds[0]), int(seconds[-1]))

    def ids_of(self, keys: list[bytes], state: _VectorState) -> pa.Array:
        """The message ids of keys (each ending with the first occurrence's `\\x1f0`), in
        line order, counting repeats over the whole file as `_message_id` does: every key
        is hashed once, and only a repeated one again, with its count, found among the
        block's digests by `RepeatedDigests`."""
        copy = state.id_hash.copy
        digests: list[bytes] = []
        add = digests.append
        for key in keys:
            hasher = copy()
            hasher.update(key)
            add(hasher.digest())
        joined = bytearray().join(digests)
        for position, occurrence in state.seen.repeats(joined):
            hasher = copy()
            hasher.update(keys[position][:-1] + str(occurrence).encode())
            joined[position * DIGEST_BYTES : (position + 1) * DIGEST_BYTES] = hasher.digest()
        return export_columns.message_ids(joined)

    def finished_table(self, table: pa.Table, first_seconds: int, last_seconds: int) -> ExportBatch:
        """`finished_columns` for a table of messages built already."""
        quarantine = self.quarantine
        if self.waiting:
            first_at = datetime.fromtimestamp(first_seconds, UTC)
            for row in self.waiting:
                row.partition_at = first_at
            quarantine = sorted(
                [*self.waiting, *quarantine], key=lambda row: int(row.location.split()[1])
            )
            self.waiting = []
        self.last_sent_at = datetime.fromtimestamp(last_seconds, UTC)
        self.quarantine = []
        return ExportBatch([], quarantine, table)

    def headed(self) -> Iterator[tuple[int, tuple[str | None, ...], str, list[str], bool, bool]]:
        """Each message of the text as (header line index, header groups, header line,
        continuation lines, whether a line held undecodable bytes, whether one held NUL),
        read from the start; text before the first header is quarantined on the way."""
        assert self.layout is not None, "scanned() first"
        match = self.layout.header_pattern().match
        first = self.first
        base = 0  # index of the block's first line
        current: tuple[int, tuple[str | None, ...], str] | None = None
        extra: list[str] = []
        bad = nul = False
        with _zip_errors_as_rejection():
            for block in self.blocks():
                lines = block.lines
                count = len(lines)
                start = max(0, first - base)
                for local in range(min(start, count)):
                    if lines[local].strip():
                        self.reject(
                            base + local,
                            "text before the first message header: not part of any message",
                            lines[local],
                        )
                found_at = [
                    (local, found)
                    for local in range(start, count)
                    if (found := match(lines[local])) is not None
                ]
                undecodable, nuls = block.undecodable, block.nul
                previous = start
                for local, found in found_at:
                    if current is not None:
                        if local > previous:
                            extra.extend(lines[previous:local])
                            if undecodable or nuls:
                                span = range(previous, local)
                                bad = bad or bool(undecodable and not undecodable.isdisjoint(span))
                                nul = nul or bool(nuls and not nuls.isdisjoint(span))
                        yield current[0], current[1], current[2], extra, bad, nul
                    current = (base + local, found.groups(), lines[local])
                    extra = []
                    bad = bool(undecodable and local in undecodable)
                    nul = bool(nuls and local in nuls)
                    previous = local + 1
                if current is not None and count > previous:  # the message goes on
                    extra.extend(lines[previous:count])
                    if undecodable or nuls:
                        span = range(previous, count)
                        bad = bad or bool(undecodable and not undecodable.isdisjoint(span))
                        nul = nul or bool(nuls and not nuls.isdisjoint(span))
                base += count
        if current is not None:
            yield current[0], current[1], current[2], extra, bad, nul

    def finished_batch(self) -> ExportBatch:
        """The rows built since the last batch; rejected lines that wait for a message's time
        are held back until one comes (or until there are too many to hold)."""
        messages, quarantine = self.messages, self.quarantine
        if self.waiting and (messages or len(self.waiting) >= BATCH_ROWS):
            if messages:
                for row in self.waiting:
                    row.partition_at = messages[0].sent_at
            quarantine = sorted(
                [*self.waiting, *quarantine], key=lambda row: int(row.location.split()[1])
            )
            self.waiting = []
        if messages:
            self.last_sent_at = messages[-1].sent_at
        self.messages, self.quarantine = [], []
        return ExportBatch(messages, quarantine)

    def day_of(self, text: str, a: str, b: str, c: str, order: str) -> tuple[int, int | None, date]:
        """(local midnight as epoch seconds, UTC midnight epoch seconds if the day has one UTC
        offset else None, the date) of a header's date text, cached per file;
        `_INVALID_DAY` if the date is impossible (31/02), `_OUT_OF_RANGE_DAY` if its
        year is outside what a table can store. The cache is emptied when it holds
        `_DAY_CACHE_LIMIT` dates (a real export has a few thousand days at most)."""
        if len(self.day_cache) >= _DAY_CACHE_LIMIT:
            self.day_cache.clear()
        numbers = {order[0]: int(a), order[1]: int(b), order[2]: int(c)}
        try:
            day = date(_full_year(numbers["Y"]), numbers["M"], numbers["D"])
        except ValueError:
            self.day_cache[text] = _INVALID_DAY
            return _INVALID_DAY
        if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            self.day_cache[text] = _OUT_OF_RANGE_DAY
            return _OUT_OF_RANGE_DAY
        local_midnight = (day.toordinal() - _EPOCH_ORDINAL) * 86400
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone).utcoffset()
        end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=self.zone).utcoffset()
        utc_midnight = None
        if start == end and start is not None:
            utc_midnight = local_midnight - int(start.total_seconds())
        info = (local_midnight, utc_midnight, day)
        self.day_cache[text] = info
        return info

    def sender_of(self, author: str) -> tuple[str, str | None]:
        """(name as written without invisible marks, phone digits if the name is a number)."""
        cached = self.sender_cache.get(author)
        if cached is None:
            shown = author.strip(markers.DIRECTION_MARKS + _SPACES)
            for mark in markers.DIRECTION_MARKS:
                if mark in shown:
                    shown = shown.replace(mark, "")
            wa_id = None
            if _PHONE_AUTHOR.match(shown):
                digits = _NON_DIGIT.sub("", shown)
                wa_id = digits if 7 <= len(digits) <= 15 else None
            cached = (shown, wa_id)
            self.sender_cache[author] = cached
        return cached

    def batches(self, order: str) -> Iterator[ExportBatch]:
        """Build one MessageRecord per valid header, quarantine the invalid ones, and hand
        them out every `BATCH_ROWS` messages.

        This is the hot loop (one iteration per message): lookups are bound to
        locals, per-day and per-author work is cached, marker checks are dict
        lookups, and regexes run only on lines that can hold a marker. A message's
        id depends on how often the same (time, author, body) came before it in the
        file: counted by an 8-byte digest of that key, not the key itself, so the
        count costs a few dozen bytes per message whatever the bodies' length.

        What is held per author (judged, sender_cache) is bounded by `max_authors`: the
        messages of authors met after that many distinct ones are quarantined, and a
        batch is also handed out once it holds `BATCH_ROWS` rejected lines.
        """
        assert self.layout is not None, "scanned() first"
        twelve_hour = self.layout.twelve_hour
        judged = self.judged
        crowded = self.crowded
        too_many_authors = (
            f"the export has more than {self.max_authors:,} distinct senders, the most one "
            "export may have (export_max_authors; a WhatsApp group holds at most 1,024 "
            "members): the message of a sender beyond them is dropped"
        )
        group_authors = self.group_authors
        occurrences: dict[bytes, int] = {}
        from_ts = datetime.fromtimestamp
        zone = self.zone
        conversation_id, title, name, timezone = (
            self.conversation_id,
            self.title,
            self.name,
            self.timezone,
        )
        id_hash = hashlib.blake2b(key=self.id_key, digest_size=12)
        digest_of = hashlib.blake2b
        media = self.media
        day_cache = self.day_cache
        sender_cache = self.sender_cache
        exact_markers = markers.EXACT
        batch_messages = self.messages
        append = batch_messages.append
        # The collector stays paused while the batches are consumed too: turned on between
        # batches, each time it ran a full collection of the process (~10% of the parse).
        with collector_paused():
            for index, groups, header_line, extra, bad, nul in self.headed():
                if len(batch_messages) >= BATCH_ROWS:
                    yield self.finished_batch()
                    batch_messages = self.messages
                    append = batch_messages.append
                date_text, a, b, c, hour_text, minute_text, second_text, ampm, rest = groups
                cut = rest.find(": ")  # type: ignore[union-attr]
                if cut > 0 and _AUTHOR_QUOTES.isdisjoint(author := rest[:cut]):  # type: ignore[index]
                    first: str = rest[cut + 2 :]  # type: ignore[index]
                else:  # no author, or `Ana changed the subject to "Plans: May"`
                    author, first = None, rest  # type: ignore[assignment]
                if author is None and ":" in rest:  # type: ignore[operator]
                    candidate = rest.split(":", 1)[0]  # type: ignore[union-attr]
                    if candidate in judged:  # "Ana:." or "Ana:" then a new line: a known author
                        author, first = candidate, rest[len(candidate) + 1 :].lstrip(" ")  # type: ignore[index]

                # When: the day's cached offset, or zoneinfo on a day with a DST change.
                day = day_cache.get(date_text)  # type: ignore[arg-type]
                if day is None:
                    day = self.day_of(date_text, a, b, c, order)  # type: ignore[arg-type]
                hour = int(hour_text)  # type: ignore[arg-type]
                minute = int(minute_text)  # type: ignore[arg-type]
                second = int(second_text) if second_text else 0
                if ampm is not None:
                    hour = 99 if hour > 12 else hour % 12 + 12 if ampm in "Pp" else hour % 12
                problem = None
                if bad:
                    problem = "the message holds bytes that are not UTF-8 text"
                elif day is _INVALID_DAY:
                    problem = f"impossible date {date_text!r} for date order {order}"
                elif day is _OUT_OF_RANGE_DAY:
                    problem = (
                        f"date {date_text!r} is outside the years {_FIRST_YEAR}-{_LAST_YEAR} "
                        "a message time can be stored in"
                    )
                elif ampm is None and twelve_hour:
                    problem = (
                        "message header without AM/PM in a 12-hour export: the hour is ambiguous"
                    )
                elif hour > 23 or minute > 59 or second > 59:
                    problem = f"impossible time in the message header of {date_text}"
                elif crowded and author is not None and author not in judged:
                    problem = too_many_authors
                if problem is not None:
                    self.reject(
                        index,
                        problem if problem is too_many_authors else f"{problem}: message dropped",
                        "\n".join([header_line, *extra]),
                    )
                    if len(self.quarantine) + len(self.waiting) >= BATCH_ROWS:
                        yield self.finished_batch()  # rejected lines are not held by the file
                        batch_messages = self.messages
                        append = batch_messages.append
                    continue
                seconds_of_day = hour * 3600 + minute * 60 + second
                local_midnight, utc_midnight, local_day = day
                if utc_midnight is not None:
                    sent_at = from_ts(utc_midnight + seconds_of_day, UTC)
                else:
                    sent_at = datetime(
                        local_day.year,
                        local_day.month,
                        local_day.day,
                        hour,
                        minute,
                        second,
                        tzinfo=zone,
                    ).astimezone(UTC)
                body = "\n".join([first, *extra]) if extra else first

                # Who: the same raw tuple always gets the same id, wherever it is in the file.
                occurrence_key = f"{local_midnight + seconds_of_day}\x1f{author or ''}\x1f{body}"
                encoded = occurrence_key.encode()
                counted = digest_of(encoded, digest_size=8).digest()
                occurrence = occurrences.get(counted, 0)
                occurrences[counted] = occurrence + 1
                hasher = id_hash.copy()
                hasher.update(encoded + b"\x1f" + str(occurrence).encode())
                message_id = "m_" + hasher.hexdigest()

                # What: markers are matched exactly first; the regex fallbacks only on odd lines.
                is_edited = False
                media_name = media_mime = media_sha = media_size = None
                if author is None or author in group_authors:
                    message_type = "system"
                    sender_name = sender_wa_id = None
                    text: str | None = body.lstrip(_MARKS)
                else:
                    sender = sender_cache.get(author)
                    if sender is None:
                        sender = self.sender_of(author)
                    sender_name, sender_wa_id = sender
                    message_type, text, is_edited, media_name = _sender_content(
                        body, first, exact_markers
                    )
                    if message_type == "system":
                        sender_name = sender_wa_id = None
                    elif media_name is not None:
                        media_mime, media_sha, media_size = _attachment(media_name, media)
                # Positional, in MessageRecord's field order: keywords cost ~30% at 1M rows.
                append(
                    MessageRecord(
                        message_id,
                        conversation_id,
                        "export",
                        sender_wa_id,
                        sender_name,
                        sent_at,
                        message_type,
                        text,
                        None,  # media_id: exports carry files, not Cloud API media ids
                        media_mime,
                        None,  # reply_to_id: exports do not say what a message replies to
                        message_type == "system",
                        is_edited,
                        name,
                        f"line {index + 1}",
                        title,
                        media_name,
                        media_sha,
                        media_size,
                        timezone,
                        None,
                        "NUL removed from the message's lines" if nul else None,
                    )
                )
        batch = self.finished_batch()
        if self.waiting:  # no message at all: rejected lines keep no time (their file's landing)
            batch.quarantine = [*self.waiting, *batch.quarantine]
            self.waiting = []
        yield batch

    def column_batches(self, order: str) -> Iterator[ExportBatch]:
        """The rows of `batches`, with their messages as Arrow tables, read a block of text
        at a time: one regex search over the block finds every header (a message is the
        text from its header to the next one, carried into the next block when it goes
        on), and each message's values go into columns instead of a record.

        Only for a text without NUL or undecodable bytes and with a header on its first
        line (`plain`, `first == 0`): those judgments are the line parser's. Every other
        decision (authors, times, markers, ids, rejected lines) is the one `batches`
        takes, line for line; the Arrow schema is MESSAGE_SCHEMA. `vector_batches` is
        the faster form ingestion gets for UTF-8 text.
        """
        assert self.layout is not None, "scanned() first"
        finditer = self.layout.block_pattern().finditer
        occurrences: dict[bytes, int] = {}  # keyed by the id of a key's first occurrence
        id_hash = hashlib.blake2b(key=self.id_key, digest_size=12)
        rows: list[tuple[object, ...]] = []
        append = rows.append
        last_seconds: int | None = None
        line = 0  # index of the current block's first line
        current: tuple[int, re.Match[str], int] | None = None
        pending: list[str] = []  # the current message's text, from its header line on
        found_messages: list[tuple[int, re.Match[str], int, str]] = []
        with _zip_errors_as_rejection(), collector_paused():
            blocks = text_blocks(self.open_chat, utf16=self.utf16)
            for text in itertools.chain(blocks, [None]):
                found_messages.clear()
                if text is None:  # the end: the last message ends with the text
                    if current is None:
                        break
                    whole = "".join(pending).rstrip("\n")
                    found_messages.append((current[0], current[1], current[2], whole))
                else:
                    position = counted = 0
                    for found in finditer(text):
                        start = found.start()
                        if current is not None:
                            pending.append(text[position:start])
                            whole = "".join(pending)[:-1]  # without the LF before the header
                            found_messages.append((current[0], current[1], current[2], whole))
                        line += text.count("\n", counted, start)
                        counted = start
                        current = (line, found, found.start(10) - start)
                        pending = []
                        position = start
                    if current is not None:
                        pending.append(text[position:] if position else text)
                    line += text.count("\n", counted)
                for index, found, rest_at, whole in found_messages:
                    made = self.one_message(index, found, rest_at, whole, order, last_seconds)
                    if made is None:
                        if len(self.quarantine) + len(self.waiting) >= BATCH_ROWS:
                            yield self.finished_columns(rows)  # rejects are not held either
                            rows = []
                            append = rows.append
                        continue
                    values, last_seconds, encoded = made
                    append((_message_id(encoded, occurrences, id_hash), *values))
                if (
                    len(rows) >= BATCH_ROWS
                    or len(self.quarantine) + len(self.waiting) >= BATCH_ROWS
                ):
                    yield self.finished_columns(rows)
                    rows = []
                    append = rows.append
        batch = self.finished_columns(rows)
        if self.waiting:  # no message at all: rejected lines keep no time (their file's landing)
            batch.quarantine = [*self.waiting, *batch.quarantine]
            self.waiting = []
        yield batch

    def one_message(
        self,
        index: int,
        found: re.Match[str],
        rest_at: int,
        whole: str,
        order: str,
        last_seconds: int | None,
    ) -> tuple[tuple[object, ...], int, bytes] | None:
        """One message of the whole-block parsers, as `batches` reads it: (its row's values
        after the id, its time in epoch seconds, the key its id is hashed from), or None
        when it is rejected (quarantined here, filed under `last_seconds`, the time of the
        message before it).

        `found` is the layout's block pattern matched on the header line, `rest_at` where
        its text after the header starts in `whole`, the message's text from its header on.
        """
        date_text, clock, rest = found.group(1, 5, 10)
        cut = rest.find(": ")
        if cut > 0 and _AUTHOR_QUOTES.isdisjoint(author := rest[:cut]):
            body = whole[rest_at + cut + 2 :]
        else:
            author, body = None, whole[rest_at:]  # type: ignore[assignment]
        if author is None and ":" in rest:
            candidate = rest.split(":", 1)[0]
            if candidate in self.judged:
                after = whole[rest_at + len(candidate) + 1 :]
                author, body = candidate, after.lstrip(" ")

        day = self.day_cache.get(date_text)
        if day is None:
            day = self.day_of(date_text, *found.group(2, 3, 4), order)
        timed = self.clock_cache.get(clock)
        if timed is None:
            if len(self.clock_cache) >= _CLOCK_CACHE_LIMIT:
                self.clock_cache.clear()
            assert self.layout is not None
            timed = self.clock_cache[clock] = _clock_of(
                *found.group(6, 7, 8, 9),
                self.layout.twelve_hour,  # type: ignore[arg-type]
            )
        seconds_of_day, wrong_time = timed
        local_midnight, utc_midnight, local_day = day
        if utc_midnight is not None and wrong_time is None and not self.crowded:
            seconds = utc_midnight + seconds_of_day  # the common case
        else:  # a day with a DST change, or something to reject
            problem = None
            if day is _INVALID_DAY:
                problem = f"impossible date {date_text!r} for date order {order}"
            elif day is _OUT_OF_RANGE_DAY:
                problem = (
                    f"date {date_text!r} is outside the years "
                    f"{_FIRST_YEAR}-{_LAST_YEAR} a message time can be stored in"
                )
            elif wrong_time is not None:
                problem = wrong_time.format(date_text)
            elif self.crowded and author is not None and author not in self.judged:
                problem = self.too_many_authors
            if problem is not None:
                self.last_sent_at = (
                    datetime.fromtimestamp(last_seconds, UTC) if last_seconds is not None else None
                )
                self.reject(
                    index,
                    problem if problem is self.too_many_authors else f"{problem}: message dropped",
                    whole,
                )
                return None
            if utc_midnight is not None:
                seconds = utc_midnight + seconds_of_day
            else:
                hour, minute = divmod(seconds_of_day // 60, 60)
                seconds = int(
                    datetime(
                        local_day.year,
                        local_day.month,
                        local_day.day,
                        hour,
                        minute,
                        seconds_of_day % 60,
                        tzinfo=self.zone,
                    ).timestamp()
                )
        # The id of `batches`: the key's first occurrence's id counts the rest.
        encoded = f"{local_midnight + seconds_of_day}\x1f{author or ''}\x1f{body}".encode()
        location = f"line {index + 1}"
        if author is None or author in self.group_authors:
            return (
                (
                    *(None, None, seconds, "system", body.lstrip(_MARKS), None, True, False),
                    *(location, None, None, None),
                ),
                seconds,
                encoded,
            )
        sender = self.sender_cache.get(author)
        if sender is None:
            sender = self.sender_of(author)
        newline = body.find("\n")
        first = body if newline < 0 else body[:newline]
        media_mime = media_sha = media_size = None
        sender_name, sender_wa_id = sender
        message_type, text_value, is_edited, media_name = _sender_content(
            body, first, markers.EXACT
        )
        if message_type == "system":
            sender_name = sender_wa_id = None
        elif media_name is not None:
            media_mime, media_sha, media_size = _attachment(media_name, self.media)
        return (
            (
                sender_wa_id,
                sender_name,
                seconds,
                message_type,
                text_value,
                media_mime,
                message_type == "system",
                is_edited,
                location,
                media_name,
                media_sha,
                media_size,
            ),
            seconds,
            encoded,
        )

    def finished_columns(self, rows: list[tuple[object, ...]]) -> ExportBatch:
        """`finished_batch` for `column_batches`: its rows as an Arrow table."""
        quarantine = self.quarantine
        if self.waiting and (rows or len(self.waiting) >= BATCH_ROWS):
            if rows:
                first_at = datetime.fromtimestamp(rows[0][3], UTC)  # type: ignore[arg-type]
                for row in self.waiting:
                    row.partition_at = first_at
            quarantine = sorted(
                [*self.waiting, *quarantine], key=lambda row: int(row.location.split()[1])
            )
            self.waiting = []
        if rows:
            self.last_sent_at = datetime.fromtimestamp(rows[-1][3], UTC)  # type: ignore[arg-type]
        self.quarantine = []
        return ExportBatch([], quarantine, self._table_of(rows))

    def _table_of(self, rows: list[tuple[object, ...]]) -> pa.Table:
        """The rows of `column_batches` as a table of MESSAGE_SCHEMA."""
        count = len(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 13
        (ids, wa_ids, names, seconds, types, texts, mimes, system, edited, lines) = columns[:10]
        media_names, shas, sizes = columns[10:]
        string = pa.string()
        return self.columns_table(
            pa.array(ids, string),
            pa.array(wa_ids, string),
            pa.array(names, string),
            np.fromiter(seconds, dtype=np.int64, count=count),
            pa.array(types, string),
            pa.array(texts, string),
            pa.array(mimes, string),
            pa.array(system, pa.bool_()),
            pa.array(edited, pa.bool_()),
            pa.array(lines, string),
            pa.array(media_names, string),
            pa.array(shas, string),
            pa.array(sizes, pa.int64()),
        )

    def columns_table(
        self,
        ids: pa.Array,
        wa_ids: pa.Array,
        names: pa.Array,
        seconds: np.ndarray,
        types: pa.Array,
        texts: pa.Array,
        mimes: pa.Array,
        system: pa.Array,
        edited: pa.Array,
        lines: pa.Array | np.ndarray,
        media_names: pa.Array,
        shas: pa.Array,
        sizes: pa.Array,
    ) -> pa.Table:
        """A table of MESSAGE_SCHEMA from its varying columns (`seconds` in epoch seconds,
        `lines` the 1-based line numbers or their `line N` texts); the rest is the file's."""
        count = len(seconds)
        string, nulls = pa.string(), pa.nulls
        if isinstance(lines, np.ndarray):
            lines = export_columns.decimal_texts(lines, "line ")
        kept = self.constants

        def constant(value: str) -> pa.Array:
            # One array per value and file, as long as the longest batch; batches slice it.
            array = kept.get(value)
            if array is None or len(array) < count:
                array = kept[value] = _constant(value, max(count, BATCH_ROWS))
            return array.slice(0, count)

        values = {
            "message_id": ids,
            "conversation_id": constant(self.conversation_id),
            "source": constant("export"),
            "sender_wa_id": wa_ids,
            "sender_name": names,
            "sent_at": pa.Array.from_buffers(  # the nanoseconds as they are, not converted
                _SENT_AT, count, [None, pa.py_buffer(seconds.astype(np.int64) * 1_000_000_000)]
            ),
            "message_type": types,
            "text": texts,
            "media_id": nulls(count, string),
            "media_mime": mimes,
            "reply_to_id": nulls(count, string),
            "is_system": system,
            "is_edited": edited,
            "source_file": constant(self.name),
            "location": lines,
            "conversation_name": constant(self.title),
            "media_filename": media_names,
            "media_sha256": shas,
            "media_bytes": sizes,
            "export_timezone": constant(self.timezone),
        }
        arrays = [
            values[field.name] if field.name in values else nulls(count, field.type)
            for field in MESSAGE_SCHEMA
        ]
        return pa.Table.from_arrays(arrays, schema=MESSAGE_SCHEMA)


def _message_id(encoded: bytes, occurrences: dict[bytes, int], id_hash: hashlib._Hash) -> str:
    """The id of a message whose key is `encoded`: the keyed hash of the key and how many
    times the same key came before it in the file, counted by the first one's digest."""
    hasher = id_hash.copy()
    hasher.update(encoded)  # not `encoded + ...`: a huge body is not copied again
    hasher.update(b"\x1f0")
    first_id = hasher.digest()
    occurrence = occurrences.get(first_id)
    if occurrence is None:
        occurrences[first_id] = 1
        return "m_" + first_id.hex()
    occurrences[first_id] = occurrence + 1
    hasher = id_hash.copy()
    hasher.update(encoded)
    hasher.update(b"\x1f" + str(occurrence).encode())
    return "m_" + hasher.hexdigest()


def _clock_of(
    hour_text: str, minute_text: str, second_text: str | None, ampm: str | None, twelve_hour: bool
) -> tuple[int, str | None]:
    """(seconds into the day, None) of a header's time as `batches` reads it, or (0, the
    problem with `{}` for the header's date text)."""
    hour, minute = int(hour_text), int(minute_text)
    second = int(second_text) if second_text else 0
    if ampm is not None:
        hour = 99 if hour > 12 else hour % 12 + 12 if ampm in "Pp" else hour % 12
    if ampm is None and twelve_hour:
        return 0, "message header without AM/PM in a 12-hour export: the hour is ambiguous"
    if hour > 23 or minute > 59 or second > 59:
        return 0, "impossible time in the message header of {}"
    return hour * 3600 + minute * 60 + second, None


def _looks_like_notice(first: str) -> bool:
    """Whether a body's first line reads like a notice the phone wrote, not a person.

    True for encryption notices, group events (`Ana added Ben`), and iOS's
    lines that start with a direction mark but are no media/deleted/edited
    marker (`‎Ana created group "X"`). Only the encryption notices are
    trusted on their own; the rest is used for the group's own author name.
    """
    stripped = first.lstrip(_MARKS)
    if markers.NOTICE.match(stripped) or markers.GROUP_EVENT.search(stripped):
        return True
    if first[:1] not in _MARKS:
        return False
    if stripped in markers.EXACT or markers.EDITED.search(stripped):
        return False
    return _content_of(stripped, stripped)[0] == "text"


def _title_key(title: str) -> str:
    """A chat title or author name as compared: NFC, casefolded, single spaces, no marks."""
    cleaned = title.strip(markers.DIRECTION_MARKS + _SPACES)
    return " ".join(unicodedata.normalize("NFC", cleaned).casefold().split())


def _sender_content(
    body: str, first: str, exact_markers: dict[str, str]
) -> tuple[str, str | None, bool, str | None]:
    """A sender's message as both parsers store it: its type, its text, whether WhatsApp
    marked it edited (the mark is cut off the text) and the name of its attachment.

    `first` is the body's first line, where WhatsApp writes what a message is (an exact
    marker such as "<Media omitted>", an attached file, a notice); anything else is text.
    """
    is_edited = False
    if body[-1:] == ">":
        edited = markers.EDITED.search(body, max(0, len(body) - 80))
        if edited is not None:
            is_edited = True
            body = body[: edited.start()]
            first = body.partition("\n")[0]
    kind = exact_markers.get(first)
    if kind is not None:
        return (
            kind,
            None if kind == "deleted" else (body.partition("\n")[2] or None),
            is_edited,
            None,
        )
    if (
        first[:1] in _MARKER_LEADS
        or first[-1:] == ")"
        or "•" in first
        or first.startswith(markers.NOTICE_PREFIXES)
    ):
        message_type, text, media_name = _content_of(first, body)
        return message_type, text, is_edited, media_name
    return "text", body, is_edited, None  # the common case: a plain text message


def _attachment(
    media_name: str, media: dict[str, MediaFile]
) -> tuple[str | None, str | None, int | None]:
    """The MIME type, SHA-256 and size of an attached file (the last two only when the
    export carries the file)."""
    found = media.get(media_name)
    if found is None:
        return _mime_of(media_name), None, None
    return _mime_of(media_name), found.sha256, found.size


def _content_of(first: str, body: str) -> tuple[str, str | None, str | None]:
    """(message_type, text without the marker or None, media file name) of a user's body.

    `first` is the body's first line. Called when the line is not exactly a
    known marker: tries the casefolded tables, `<attached: …>` and
    `… (file attached)` forms, iOS document lines and encryption notices.
    """
    head = first.strip(_MARKS + _SPACES)
    lead = head[:1]
    more = body.partition("\n")[2]
    if lead == "<":
        kind = markers.MEDIA_OMITTED.get(head.casefold())
        if kind is not None:
            return kind, (more or None), None
        attached = markers.ATTACHED.match(head)
        if attached is not None:
            file_name = safe_member_name(attached["file"].strip(markers.DIRECTION_MARKS + _SPACES))
            if file_name:
                caption = "\n".join((head[attached.end() :].strip(_MARKS + _SPACES), more))
                return _media_kind_of(file_name), (caption.strip() or None), file_name
    if head != first:  # a marker between spaces or direction marks
        kind = markers.EXACT.get(head)
        if kind is not None:
            return kind, (None if kind == "deleted" else more or None), None
    if head[-1:] == ")" and "(" in head:
        attached = markers.FILE_ATTACHED.match(head)
        if attached is not None:
            file_name = safe_member_name(attached["file"].strip(markers.DIRECTION_MARKS + _SPACES))
            if file_name:
                caption = "\n".join((head[attached.end() :].strip(), more))
                return _media_kind_of(file_name), (caption.strip() or None), file_name
    if "•" in head:
        folded = head.replace("\u200e", "").casefold()
        if folded.endswith(markers.IOS_DOCUMENT_OMITTED):
            file_name = safe_member_name(
                head.split("•", 1)[0].strip(markers.DIRECTION_MARKS + _SPACES)
            )
            return "document", (more or None), file_name
    if head.startswith(markers.NOTICE_PREFIXES) and markers.NOTICE.match(head):
        return "system", body.lstrip(_MARKS), None
    text = body.lstrip(_MARKS) if body[:1] in _MARKS else body
    return "text", text, None
