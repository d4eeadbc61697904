"""Reading a time window of the landing zone into the three ingestion tables.

For a window [start, end) this reads the webhook folders that can hold its
messages (received from `start` up to `webhook_lookback_days` after `end`, as
Meta re-delivers late) and every chat export, keeps the rows whose time falls
in the window, and drops duplicates: a message once per `message_id`, a status
once per (message id, status), an API error once per `error_key` (the same
event re-delivered), a rejection once per (file, location). The
result depends only on the landing zone's contents, so re-running a window
gives the same rows.

Exports can hold years of messages. Each is parsed once per content and parser
version, and the parsed rows are cached as Parquet under the settings' cache
folder, so a backfill of many ranged runs does not parse the same file again.
When the exports are large, worker processes parse them into that cache while
this process reads the webhook bodies (the two are independent), and the rows
are then read back from the cache exactly as on a later run.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import multiprocessing
import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wareader_pipelines.landing.layout import (
    EXPORT_PREFIX,
    is_export_key,
    parse_webhook_key,
    webhook_day_prefix,
)
from wareader_pipelines.landing.outside_partitions import (
    FUTURE_TOLERANCE,
    split_outside_partitions,
)
from wareader_pipelines.landing.parsed_bodies import (
    ParsedBodies,
    body_digest,
    cached_parse,
    parse_body,
)
from wareader_pipelines.lib.code_versions import imported_modules, source_fingerprint
from wareader_pipelines.lib.partitions import HISTORY_START, in_window
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing import chat_export
from wareader_pipelines.parsing.record_arrow import (
    MESSAGE_SCHEMA,
    QUARANTINE_SCHEMA,
    arrow_of,
    schema_of,
)
from wareader_pipelines.parsing.records import (
    ApiErrorRecord,
    MessageRecord,
    QuarantineRecord,
    StatusRecord,
    frame_of,
)
from wareader_pipelines.parsing.storable_text import storable
from wareader_pipelines.resources.landing_zone import LandedObject, LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.task_claims import TaskClaims


@dataclass(slots=True)
class IngestionStats:
    """What one window's read touched, for the materialization's metadata."""

    webhook_bodies: int = 0
    webhook_bodies_from_cache: int = 0  # of those, parsed by the sensor already (not again)
    webhook_lookback_days: int = 0
    exports: int = 0
    exports_from_cache: int = 0
    exports_rejected: list[str] = field(default_factory=list)  # keys rejected whole
    exports_rejected_remembered: int = 0  # of those, known by content hash: not parsed again
    duplicate_messages: int = 0
    duplicate_statuses: int = 0
    webhook_errors: dict[str, int] = field(default_factory=dict)
    # Messages no partition can hold (before the first day, or dated after their file
    # landed), filed in this window's quarantine instead: see landing/outside_partitions.py.
    messages_outside_partitions: int = 0


@dataclass(slots=True)
class IngestedWindow:
    """The rows of `raw_messages`, `message_statuses`, `api_errors` and `quarantine` for one window."""

    raw_messages: pd.DataFrame
    message_statuses: pd.DataFrame
    quarantine: pd.DataFrame
    stats: IngestionStats
    api_errors: pd.DataFrame


@dataclass(slots=True)
class _ParsedExport:
    messages: pd.DataFrame
    quarantine: pd.DataFrame


_MISSING: object = object()
# Webhook bodies received up to this many days before a message lend it their profile names
# (masked in text): a business's reply or a number-change notice names the customer without
# carrying the name itself.
NAME_LOOKBACK_DAYS = 31


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def parser_modules() -> list[ModuleType]:
    """The export parser and every module of this package it imports, directly or not."""
    return imported_modules(chat_export)


@lru_cache(maxsize=1)
def parser_fingerprint() -> str:
    """Changes whenever anything that shapes a parsed row does, so stale caches are never read
    (the source of every module in `parser_modules` and the Unicode version)."""
    return source_fingerprint(chat_export)


def _key_fingerprint(pseudonyms: Pseudonymizer) -> str:
    """Identifies the pseudonym key (ids in the cache depend on it) without revealing it."""
    return pseudonyms.id_of("cache-fingerprint")[:12]


# Rows per Parquet row group of a cached export: an export is mostly in time order, so a
# small row group covers days or weeks, and a grouped read (`_ExportCursor`) holds only the
# row groups around the current group of days, not half of a year-long export.
CACHE_ROW_GROUP_ROWS = 1024


class _ExportCache:
    """Parsed exports as Parquet, keyed by content, parser version, zone, date order and key."""

    def __init__(self, folder: Path, pseudonyms: Pseudonymizer) -> None:
        self.folder = folder
        self.version = f"{parser_fingerprint()}-{_key_fingerprint(pseudonyms)}"

    def _paths(self, digest: str) -> tuple[Path, Path]:
        stem = self.folder / f"{digest}-{self.version}"
        return stem.with_suffix(".messages.parquet"), stem.with_suffix(".quarantine.parquet")

    def get(self, digest: str) -> _ParsedExport | None:
        messages, quarantine = self._paths(digest)
        if not (messages.exists() and quarantine.exists()):
            return None
        return _ParsedExport(pd.read_parquet(messages), pd.read_parquet(quarantine))

    def messages_path(self, digest: str) -> Path:
        return self._paths(digest)[0]

    def messages(self, digest: str, columns: list[str]) -> pd.DataFrame:
        """Some columns of a cached export's messages."""
        return pd.read_parquet(self._paths(digest)[0], columns=columns)

    def message_table(self, digest: str, columns: list[str]) -> pa.Table:
        """Some columns of a cached export's messages, as Arrow (no frame made)."""
        return pq.read_table(self._paths(digest)[0], columns=columns)

    def quarantine(self, digest: str) -> pd.DataFrame:
        return pd.read_parquet(self._paths(digest)[1])

    def put_batches(self, digest: str, batches: Iterable[chat_export.ExportBatch]) -> None:
        """Store an export's rows as they are parsed, a batch at a time.

        Only one batch of rows is in memory while the file is parsed; the Parquet files
        get their final names once complete, so a reader never sees a partial cache.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self._paths(digest)
        temporary = [path.with_suffix(f".{os.getpid()}.tmp") for path in final]
        try:
            with (
                pq.ParquetWriter(temporary[0], MESSAGE_SCHEMA) as messages,
                pq.ParquetWriter(temporary[1], QUARANTINE_SCHEMA) as quarantine,
            ):
                for batch in batches:
                    messages.write_table(batch.message_table(), CACHE_ROW_GROUP_ROWS)
                    quarantine.write_table(arrow_of(batch.quarantine, QUARANTINE_SCHEMA))
            for path, done in zip(temporary, final, strict=True):
                path.replace(done)
        finally:
            for path in temporary:
                path.unlink(missing_ok=True)

    def holds(self, digest: str) -> bool:
        return all(path.exists() for path in self._paths(digest))

    def rejected_whole(self, digest: str) -> bool:
        """Whether the cached export was rejected whole, read from its quarantine rows only."""
        messages, quarantine = self._paths(digest)
        if pq.ParquetFile(messages).metadata.num_rows:
            return False
        locations = pd.read_parquet(quarantine, columns=["location"])["location"]
        return bool((locations == "whole file").any())

    def put(self, digest: str, parsed: _ParsedExport) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for frame, path in zip(
            (parsed.messages, parsed.quarantine), self._paths(digest), strict=True
        ):
            # One temporary name per process: two workers may parse two copies of one export.
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            frame.to_parquet(temporary, index=False)
            temporary.replace(path)


def _rejected_whole(landed: LandedObject, reason: str, head: bytes) -> _ParsedExport:
    rejected = QuarantineRecord(
        source_file=landed.key,
        location="whole file",
        reason=reason,
        excerpt=storable(head[:300].decode("utf-8", errors="replace"))[0],
        landed_at=landed.modified_at,
    )
    return _ParsedExport(
        messages=frame_of([], MessageRecord), quarantine=frame_of([rejected], QuarantineRecord)
    )


def _is_rejected_whole(parsed: _ParsedExport) -> bool:
    return parsed.messages.empty and bool((parsed.quarantine["location"] == "whole file").any())


def _export_rows_of(found: str | _ParsedExport, cache: _ExportCache) -> _ParsedExport:
    """The rows `_cached_export` found: its rejection, or the export read back from the cache."""
    if isinstance(found, _ParsedExport):
        return found
    parsed = cache.get(found)
    assert parsed is not None, "just cached"
    return parsed


def _cached_export(
    zone: LandingZone,
    landed: LandedObject,
    settings: PipelineSettings,
    pseudonyms: Pseudonymizer,
    cache: _ExportCache,
    stats: IngestionStats,
    file: BinaryIO | None = None,
) -> str | _ParsedExport:
    """An export's cache digest once the cache holds its rows, or its rejection when the
    file is too large to read."""
    limits = settings.export_limits()
    too_large = limits.file_size_problem(landed.key, landed.size)
    if too_large is not None:
        stats.exports += 1
        stats.exports_rejected.append(landed.key)
        return _rejected_whole(landed, too_large, b"")  # not even read: its size alone
    return _export_into_cache(zone, landed, settings, pseudonyms, cache, stats, file)


def _export_into_cache(
    zone: LandingZone,
    landed: LandedObject,
    settings: PipelineSettings,
    pseudonyms: Pseudonymizer,
    cache: _ExportCache,
    stats: IngestionStats,
    file: BinaryIO | None = None,
) -> str:
    """Make sure the cache holds an export's rows; their cache digest.

    The file is streamed from the landing zone (or read from `file`, already open) and
    its rows go to the cache a batch at a time: neither the file nor its rows are held
    whole, so parsing one export costs at most a few times the text cap (docs/operations.md).
    """
    limits = settings.export_limits()
    stats.exports += 1
    with zone.open(landed.key) if file is None else nullcontext(file) as opened:
        date_order = settings.date_order_of(landed.key)
        timezone = settings.timezone_for(landed.key)
        opened.seek(0)
        content = hashlib.file_digest(opened, "sha256")  # type: ignore[arg-type]
        content.update(f"|{timezone}|{date_order}|{limits}".encode())
        digest = content.hexdigest()
        if cache.holds(digest):
            stats.exports_from_cache += 1
            if cache.rejected_whole(digest):
                stats.exports_rejected.append(landed.key)
                stats.exports_rejected_remembered += 1
            return digest
        try:
            parsing = chat_export.parse_export_batches(
                landed.key,
                opened,
                pseudonyms=pseudonyms,
                landed_at=landed.modified_at,
                timezone=timezone,
                date_order=date_order,
                limits=limits,
                columnar=True,
            )
        except ValueError:
            raise  # a configuration error (unknown zone, bad date order): fix the settings
        except Exception as error:  # one file the parser cannot handle must not fail the run
            return _parser_failed(opened, landed, error, cache, digest, stats)
        try:
            cache.put_batches(digest, parsing.batches)
        except Exception as error:  # damage or exhaustion met while its rows were built
            return _parser_failed(opened, landed, error, cache, digest, stats)
    if cache.rejected_whole(digest):
        stats.exports_rejected.append(landed.key)
    return digest


def _parser_failed(
    file: BinaryIO,
    landed: LandedObject,
    error: Exception,
    cache: _ExportCache,
    digest: str,
    stats: IngestionStats,
) -> str:
    """File the export as rejected whole because the parser failed on it, remembered by
    content so that later runs do not fail on it again; its cache digest."""
    file.seek(0)
    parsed = _rejected_whole(
        landed,
        f"the export parser failed on this file ({type(error).__name__}: {error})",
        file.read(300),
    )
    stats.exports_rejected.append(landed.key)
    cache.put(digest, parsed)
    return digest


def parsed_export(
    zone: LandingZone, landed: LandedObject, settings: PipelineSettings, file: BinaryIO
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One export's message and quarantine rows, through the cache ingestion reads.

    For the sensor that plans an export's backfill, from the file it has open: what it
    parses here, ingestion then finds cached, so a new export is parsed once. A file the
    parser cannot handle comes back rejected whole (and is remembered so), as ingestion
    would file it.
    """
    pseudonyms = settings.pseudonyms()
    cache = _ExportCache(Path(settings.cache_dir) / "exports", pseudonyms)
    found = _cached_export(zone, landed, settings, pseudonyms, cache, IngestionStats(), file)
    parsed = _export_rows_of(found, cache)
    return parsed.messages, parsed.quarantine


# Below this many bytes of exports a worker process costs more than it saves.
PARALLEL_EXPORT_BYTES = 4 * 1024 * 1024
# Windows at least this many days long share their webhook bodies with the workers: a
# day's run reads too few bodies to pay for a process.
PARALLEL_WEBHOOK_DAYS = 28
# Webhook folders are handed out this many days at a time.
WEBHOOK_DAYS_PER_TASK = 8
# What forked workers inherit (resources and the pseudonymizer do not pickle): the zone,
# the settings, the pseudonymizer, the export cache and the bodies the sensor parsed.
_worker_state: (
    tuple[
        LandingZone,
        PipelineSettings,
        Pseudonymizer,
        _ExportCache,
        dict[str, tuple[str, bytes]],
        TaskClaims | None,
    ]
    | None
) = None


def _worker_count(
    settings: PipelineSettings, exports: Sequence[LandedObject], webhook_tasks: int
) -> int:
    """How many processes should parse `exports` (and share `webhook_tasks` batches of
    webhook days) beside this one: 0 when not worth it."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    tasks = webhook_tasks
    if sum(landed.size for landed in exports) >= PARALLEL_EXPORT_BYTES:
        tasks += len(exports)
    wanted = settings.export_workers
    if wanted is None:
        wanted = (os.cpu_count() or 1) - 1
    return max(0, min(wanted, tasks))


def _parse_into_cache(landed: LandedObject) -> tuple[bool, bool]:
    """In a worker: parse one export into the cache; whether it was parsed (not found cached)
    and, if so, whether it was rejected whole (then it is not a remembered rejection)."""
    assert _worker_state is not None, "only called in a forked export worker"
    zone, settings, pseudonyms, cache, _, _ = _worker_state
    if settings.export_limits().file_size_problem(landed.key, landed.size) is not None:
        return False, False  # never read: the main process files it by its size
    stats = IngestionStats()
    _export_into_cache(zone, landed, settings, pseudonyms, cache, stats)
    parsed = stats.exports_from_cache == 0
    return parsed, parsed and bool(stats.exports_rejected)


def _start_workers(
    zone: LandingZone,
    settings: PipelineSettings,
    pseudonyms: Pseudonymizer,
    cache: _ExportCache,
    cached: dict[str, tuple[str, bytes]],
    exports: Sequence[LandedObject],
    webhook_tasks: Sequence[tuple[list[date], date]],
) -> tuple[
    ProcessPoolExecutor | None,
    list[Future[tuple[bool, bool]]],
    list[Future[_WebhookDays | None] | None],
    TaskClaims | None,
]:
    """Worker processes parsing `exports` into the cache, largest first, then reading the
    batches of webhook days from the last one backwards (this process reads them from the
    first one and takes over every batch no worker has started); none if not worth it."""
    global _worker_state
    workers = _worker_count(settings, exports, len(webhook_tasks))
    if workers == 0:
        return None, [], [None] * len(webhook_tasks), None
    context = multiprocessing.get_context("fork")
    claims = TaskClaims(context, len(webhook_tasks))
    _worker_state = (zone, settings, pseudonyms, cache, cached, claims)
    try:
        pool = ProcessPoolExecutor(workers, mp_context=context)
        by_size = sorted(exports, key=lambda landed: -landed.size)
        # Submitting forks the workers, which copy `_worker_state` as it is now.
        export_futures = [pool.submit(_parse_into_cache, landed) for landed in by_size]
        webhook_futures: list[Future[_WebhookDays | None] | None] = [None] * len(webhook_tasks)
        for index in reversed(range(len(webhook_tasks))):
            days, first_kept = webhook_tasks[index]
            webhook_futures[index] = pool.submit(_webhook_days_in_worker, index, days, first_kept)
        return pool, export_futures, webhook_futures, claims
    finally:
        _worker_state = None


def _parsed_by_workers(
    pool: ProcessPoolExecutor | None, futures: list[Future[tuple[bool, bool]]]
) -> tuple[int, int]:
    """Wait for the export workers; how many exports they parsed into the cache, and how
    many of those they rejected whole.

    A worker that failed (a crash, a configuration error) only costs time: this process
    then parses that export itself, and raises what needs raising.
    """
    if pool is None:
        return 0, 0
    parsed = rejected = 0
    with pool:
        for future in futures:
            try:
                was_parsed, was_rejected = future.result()
            except Exception:  # parsed again below, in this process
                continue
            parsed += was_parsed
            rejected += was_rejected
    return parsed, rejected


@dataclass(slots=True)
class _WebhookDays:
    """What the webhook bodies received on some days hold, in reading order.

    Messages and statuses are gathered as tuples of their fields (what `frame_of` builds
    its frame from), and are Arrow tables of those fields once the days are read (see
    `_message_table`): they cross from a worker process cheaply and need no second copy.
    """

    messages: list[tuple[object, ...]] | pa.Table = field(default_factory=list)
    statuses: list[tuple[object, ...]] | pa.Table = field(default_factory=list)
    errors: list[ApiErrorRecord] = field(default_factory=list)
    rejected: list[QuarantineRecord] = field(default_factory=list)
    # (received day, name) of the profile names the bodies carry, by conversation
    names: dict[str, set[tuple[date, str]]] = field(default_factory=dict)
    landed_at_by_file: dict[str, datetime] = field(default_factory=dict)
    bodies: int = 0
    bodies_from_cache: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)


_MESSAGE_ROW = operator.attrgetter(*(f.name for f in dataclasses.fields(MessageRecord)))
_STATUS_ROW = operator.attrgetter(*(f.name for f in dataclasses.fields(StatusRecord)))


def _read_webhook_days(
    zone: LandingZone,
    days: Iterable[date],
    first_kept: date,
    settings: PipelineSettings,
    pseudonyms: Pseudonymizer,
    cached: dict[str, tuple[str, bytes]],
) -> _WebhookDays:
    """Read and parse the webhook bodies received on `days`; those received before
    `first_kept` lend their profile names only."""
    out = _WebhookDays()
    for day in days:
        for landed in zone.list(webhook_day_prefix(day)):
            key = parse_webhook_key(landed.key)
            received_at = key.received_at if key else landed.modified_at
            out.landed_at_by_file[landed.key] = received_at
            if landed.size > settings.webhook_max_bytes:
                out.bodies += 1
                out.rejected.append(_oversized_body(landed, received_at, settings))
                continue
            body = zone.read(landed.key)
            parsed = cached_parse(cached.get(landed.key), body_digest(body)) if cached else None
            if parsed is None:
                parsed = parse_body(
                    body, key=landed.key, landed_at=received_at, pseudonyms=pseudonyms
                )
            elif day >= first_kept:
                out.bodies_from_cache += 1
            for message in parsed.messages:
                for name in (message.sender_name, message.conversation_name):
                    if name:
                        names = out.names.setdefault(message.conversation_id, set())
                        names.add((day, name))
            if day < first_kept:
                continue  # read for its names only
            out.bodies += 1
            out.messages.extend(map(_MESSAGE_ROW, parsed.messages))  # type: ignore[union-attr]
            out.statuses.extend(map(_STATUS_ROW, parsed.statuses))  # type: ignore[union-attr]
            out.errors.extend(parsed.errors)
            out.rejected.extend(parsed.quarantine)
            for error in parsed.errors:
                code = str(error.code)
                out.errors_by_code[code] = out.errors_by_code.get(code, 0) + 1
    out.messages = _message_table(out.messages)  # type: ignore[arg-type]
    out.statuses = _message_table(out.statuses, STATUS_SCHEMA)  # type: ignore[arg-type]
    return out


STATUS_SCHEMA = schema_of(StatusRecord)


def _message_table(
    rows: list[tuple[object, ...]], schema: pa.Schema = MESSAGE_SCHEMA
) -> pa.Table | list[tuple[object, ...]]:
    """Message (or status) tuples as one Arrow table of `schema` (a tenth of their memory,
    and one buffer to send from a worker), or as they are when Arrow refuses a value."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    try:
        return pa.Table.from_arrays(
            [pa.array(column, type=f.type) for column, f in zip(columns, schema, strict=True)],
            schema=schema,
        )
    except (pa.ArrowException, UnicodeError, ValueError, TypeError, OverflowError):
        return rows


def _webhook_days_in_worker(index: int, days: list[date], first_kept: date) -> _WebhookDays | None:
    """In a worker: task `index` read with the state the worker was forked with, or None
    when the ingesting process took the task first."""
    assert _worker_state is not None, "only called in a forked worker"
    zone, settings, pseudonyms, _, cached, claims = _worker_state
    if claims is not None and not claims.claim(index):
        return None
    return _read_webhook_days(zone, days, first_kept, settings, pseudonyms, cached)


def _webhook_tasks(
    first_day: date, last_day: date, first_kept: date, parallel: bool
) -> list[tuple[list[date], date]]:
    """The webhook days to read, in order: in batches when workers share them, else one."""
    days = list(_days(first_day, last_day))
    if not parallel:
        return [(days, first_kept)]
    step = WEBHOOK_DAYS_PER_TASK
    return [(days[i : i + step], first_kept) for i in range(0, len(days), step)]


def _read_webhook_tasks(
    zone: LandingZone,
    tasks: Sequence[tuple[list[date], date]],
    futures: Sequence[Future[_WebhookDays | None] | None],
    claims: TaskClaims | None,
    settings: PipelineSettings,
    pseudonyms: Pseudonymizer,
    cached: dict[str, tuple[str, bytes]],
) -> list[_WebhookDays]:
    """Every task's result, in task order: read here unless a worker took it first.

    Workers take the tasks from the last one backwards, this process from the first one
    forwards (see `TaskClaims`), so both meet in the middle. A task a worker failed is
    read again here, which raises what needs raising.
    """
    results: list[_WebhookDays | None] = [None] * len(tasks)
    for index, (days, first_kept) in enumerate(tasks):
        future = futures[index]
        if future is None or claims is None or claims.claim(index):
            results[index] = _read_webhook_days(
                zone, days, first_kept, settings, pseudonyms, cached
            )
    done: list[_WebhookDays] = []
    for index, (days, first_kept) in enumerate(tasks):
        result = results[index]
        if result is None:
            future = futures[index]
            assert future is not None
            try:
                result = future.result()
            except Exception:  # read again, in this process
                result = None
            if result is None:
                result = _read_webhook_days(zone, days, first_kept, settings, pseudonyms, cached)
        results[index] = None
        done.append(result)
    return done


def _rows_frame(rows: list[tuple[object, ...]], record_type: type) -> pd.DataFrame:
    """`frame_of` for records already turned into tuples of their fields."""
    if not rows:
        return frame_of([], record_type)
    columns = [f.name for f in dataclasses.fields(record_type)]
    return pd.DataFrame.from_records(rows, columns=columns)


def _oversized_body(
    landed: LandedObject, received_at: datetime, settings: PipelineSettings
) -> QuarantineRecord:
    """The quarantine row of a webhook body too large to read (it is never read)."""
    return QuarantineRecord(
        source_file=landed.key,
        location="whole body",
        reason=f"the body is {landed.size:,} bytes, over the cap of "
        f"{settings.webhook_max_bytes:,} (webhook_max_bytes): not read",
        excerpt="",
        landed_at=received_at,
    )


@dataclass(slots=True)
class _SourceRows:
    """What a read of [start, end) gathers before building its tables: the webhook bodies'
    rows (messages and statuses as Arrow tables of their fields, in day order) and every export,
    parsed into the cache (its digest) or rejected whole unread."""

    stats: IngestionStats
    lookback: int
    # the webhook messages, in day order: Arrow tables (tuples where Arrow refused a value)
    message_parts: list[pa.Table | list[tuple[object, ...]]]
    status_parts: list[pa.Table | list[tuple[object, ...]]]  # the same for the statuses
    errors: list[ApiErrorRecord]
    rejected: list[QuarantineRecord]
    landed_at_by_file: dict[str, datetime]
    webhook_names: dict[str, set[tuple[date, str]]]
    cache: _ExportCache
    exports: list[str | _ParsedExport]

    def parsed(self, found: str | _ParsedExport) -> _ParsedExport:
        """An export's rows, read back from the cache."""
        return _export_rows_of(found, self.cache)


def _read_sources(
    zone: LandingZone,
    start: datetime,
    end: datetime,
    settings: PipelineSettings,
    webhook_lookback_days: int | None,
) -> _SourceRows:
    """Read every webhook body a window needs and parse every export into the cache."""
    pseudonyms = settings.pseudonyms()
    lookback = max(settings.webhook_lookback_days, webhook_lookback_days or 0)
    stats = IngestionStats()
    stats.webhook_lookback_days = lookback
    cache = _ExportCache(Path(settings.cache_dir) / "exports", pseudonyms)
    exports = [landed for landed in zone.list(EXPORT_PREFIX) if is_export_key(landed.key)]
    last_day = (end - timedelta(microseconds=1)).date() + timedelta(days=lookback)
    # Bodies from a month before the window too: they only lend participant names (their
    # messages fall outside the window), so a day's names do not depend on where a run
    # starts.
    first_day = start.date() - timedelta(days=NAME_LOOKBACK_DAYS)
    # What the webhook sensor parsed of these bodies: reused, not parsed again.
    cached = ParsedBodies(settings.cache_dir, pseudonyms).entries_between(first_day, last_day)
    parallel = (end - start) >= timedelta(days=PARALLEL_WEBHOOK_DAYS)
    tasks = _webhook_tasks(first_day, last_day, start.date(), parallel)
    pool, export_futures, webhook_futures, claims = _start_workers(
        zone, settings, pseudonyms, cache, cached, exports, tasks if parallel else []
    )
    if not parallel:
        webhook_futures = [None] * len(tasks)  # one task, read here
    try:
        parts = _read_webhook_tasks(
            zone, tasks, webhook_futures, claims, settings, pseudonyms, cached
        )
    except BaseException:
        if pool is not None:  # do not leave workers parsing for nobody
            pool.shutdown(wait=False, cancel_futures=True)
        raise

    # The batches' rows in day order, as one sequential read would have them.
    sources = _SourceRows(stats, lookback, [], [], [], [], {}, {}, cache, [])
    parts.reverse()
    while parts:
        part = parts.pop()
        sources.message_parts.append(part.messages)
        sources.status_parts.append(part.statuses)
        sources.errors.extend(part.errors)
        sources.rejected.extend(part.rejected)
        sources.landed_at_by_file.update(part.landed_at_by_file)
        for conversation, found in part.names.items():
            sources.webhook_names.setdefault(conversation, set()).update(found)
        stats.webhook_bodies += part.bodies
        stats.webhook_bodies_from_cache += part.bodies_from_cache
        for code, count in part.errors_by_code.items():
            stats.webhook_errors[code] = stats.webhook_errors.get(code, 0) + count
        del part

    parsed_by_workers, rejected_by_workers = _parsed_by_workers(pool, export_futures)
    for landed in exports:
        sources.landed_at_by_file[landed.key] = landed.modified_at
        sources.exports.append(_cached_export(zone, landed, settings, pseudonyms, cache, stats))
    stats.exports_from_cache -= parsed_by_workers  # parsed now, if by another process
    stats.exports_rejected_remembered -= rejected_by_workers  # rejected now, not remembered
    return sources


def _webhook_frames(parts: list[pa.Table | list[tuple[object, ...]]]) -> list[pd.DataFrame]:
    """The webhook messages as frames, in order: consecutive Arrow tables as one."""
    frames: list[pd.DataFrame] = []
    tables: list[pa.Table] = []
    for part in [*parts, None]:
        if isinstance(part, pa.Table):
            tables.append(part)
            continue
        if tables:
            frames.append(pa.concat_tables(tables).to_pandas())
            tables = []
        if part is not None:
            frames.append(_rows_frame(part, MessageRecord))
    return frames or [_rows_frame([], MessageRecord)]


def _first_partition() -> datetime:
    return datetime.combine(date.fromisoformat(HISTORY_START), time(), UTC)


def read_landing_window(
    zone: LandingZone,
    start: datetime,
    end: datetime,
    *,
    settings: PipelineSettings,
    webhook_lookback_days: int | None = None,
) -> IngestedWindow:
    """The ingestion tables' rows for [start, end), read from everything in the landing zone.

    `webhook_lookback_days` overrides the settings' look-back for this read (a history
    replay lands messages months after they were sent).
    """
    sources = _read_sources(zone, start, end, settings, webhook_lookback_days)
    stats = sources.stats
    # Each list of records is dropped once it is a frame, and the frames once concatenated:
    # at a million rows every copy held to the end of the read costs hundreds of MiB.
    message_frames = _webhook_frames(sources.message_parts)
    sources.message_parts.clear()
    quarantine_frames = [frame_of(sources.rejected, QuarantineRecord)]
    for found in sources.exports:
        parsed_export = sources.parsed(found)
        message_frames.append(_with_participant_names(parsed_export.messages))
        quarantine_frames.append(parsed_export.quarantine)

    raw = _concat(message_frames, MessageRecord)
    raw, outside = split_outside_partitions(
        raw, sources.landed_at_by_file, first_day=_first_partition()
    )
    quarantine_frames.append(outside)
    stats.messages_outside_partitions = int(in_window(outside["partition_at"], start, end).sum())
    raw = _window_messages(raw, start, end, sources)
    status_frame = _status_frame(sources, start, end)
    api_errors = api_errors_frame(sources.errors)
    api_errors = api_errors[in_window(api_errors["partition_at"], start, end)].reset_index(
        drop=True
    )
    return IngestedWindow(
        raw_messages=raw,
        message_statuses=status_frame,
        quarantine=_quarantine_frame(quarantine_frames, start, end),
        stats=stats,
        api_errors=api_errors,
    )


def _window_messages(
    raw: pd.DataFrame, start: datetime, end: datetime, sources: _SourceRows
) -> pd.DataFrame:
    """`raw_messages` of [start, end) from the messages a partition can hold: each once (its
    first delivery), in (sent_at, message_id) order, with the webhook chats' names."""
    raw = raw[in_window(raw["sent_at"], start, end)]
    before = len(raw)
    # Keep each message's first delivery: sort by arrival, then by id for a stable order.
    # Only the ids delivered more than once (a few in a hundred) need that sort: the order
    # by (sent_at, message_id) below is total once ids are unique.
    repeated = raw["message_id"].duplicated(keep=False)
    if repeated.any():
        deliveries = raw[repeated].sort_values(
            ["message_id", "source_file", "location"], kind="stable"
        )
        raw = pd.concat([raw[~repeated], deliveries.drop_duplicates("message_id", keep="first")])
    sources.stats.duplicate_messages += before - len(raw)
    raw = raw.iloc[_sent_order(raw)].reset_index(drop=True)
    return _with_webhook_participant_names(
        raw, sources.webhook_names, NAME_LOOKBACK_DAYS, sources.lookback
    )


def _sent_order(raw: pd.DataFrame) -> np.ndarray:
    """The positions of `raw`'s rows in (sent_at, message_id) order, stable: Arrow sorts
    them in a fifth of the time pandas takes over two columns, one of them strings (pandas
    still sorts when Arrow refuses an id, e.g. a lone surrogate)."""
    try:
        keys = pa.table(
            {
                "sent_at": pa.array(raw["sent_at"]),
                "message_id": pa.array(
                    raw["message_id"].to_numpy(dtype=object), pa.string(), from_pandas=True
                ),
            }
        )
    except (pa.ArrowException, UnicodeError, ValueError, TypeError):
        keys_frame = raw[["sent_at", "message_id"]].reset_index(drop=True)
        return keys_frame.sort_values(["sent_at", "message_id"], kind="stable").index.to_numpy()
    order = pc.sort_indices(keys, sort_keys=[("sent_at", "ascending"), ("message_id", "ascending")])
    return order.to_numpy()


def _status_frame(sources: _SourceRows, start: datetime, end: datetime) -> pd.DataFrame:
    """`message_statuses` of [start, end): each (message, status) once."""
    statuses = _all_statuses(sources)
    if isinstance(statuses, pa.Table):
        statuses = _table_frame(statuses, _frame_dtypes(statuses))
    return _unique_statuses(statuses, start, end, sources.stats).reset_index(drop=True)


def _all_statuses(sources: _SourceRows) -> pa.Table | pd.DataFrame:
    """Every status read, in reading order: one Arrow table, or the frame of their tuples
    when Arrow refused a value of some batch (or there are none)."""
    parts, sources.status_parts = sources.status_parts, []
    if parts and all(isinstance(part, pa.Table) for part in parts):
        table = pa.concat_tables(parts)
        if table.num_rows:
            return table
    rows: list[tuple[object, ...]] = []
    for part in parts:
        if isinstance(part, pa.Table):
            part = list(zip(*(column.to_pylist() for column in part.columns), strict=True))
        rows.extend(part)
    return _rows_frame(rows, StatusRecord)


def _frame_dtypes(table: pa.Table) -> dict[str, object]:
    """The dtype of each column of `_rows_frame` of `table`'s rows as tuples (None for a
    column with no value: pandas keeps those as objects)."""
    return {
        name: None if column.null_count == len(column) else column.to_pandas().dtype
        for name, column in zip(table.column_names, table.columns, strict=True)
    }


def _table_frame(table: pa.Table, dtypes: dict[str, object]) -> pd.DataFrame:
    """Rows of an Arrow table of records as `_rows_frame` makes them from their tuples,
    with the columns' `dtypes` of the whole table the rows are taken from."""
    frame = table.to_pandas()
    for name, dtype in dtypes.items():
        if dtype is None:
            frame[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        elif frame[name].dtype != dtype:
            frame[name] = frame[name].astype(dtype)
    return frame


def _unique_statuses(
    statuses: pd.DataFrame, start: datetime, end: datetime, stats: IngestionStats
) -> pd.DataFrame:
    """The statuses of [start, end), each (message, status) once (its first time, then
    its first file), in (status_at, message_id, status) order; the index says where each
    row was in `statuses`. Only the four columns named here are read."""
    statuses = statuses[in_window(statuses["status_at"], start, end)]
    before = len(statuses)
    statuses = statuses.sort_values(
        ["message_id", "status", "status_at", "source_file"], kind="stable"
    ).drop_duplicates(["message_id", "status"], keep="first")
    stats.duplicate_statuses = before - len(statuses)
    return statuses.sort_values(["status_at", "message_id", "status"])


def _quarantine_frame(frames: list[pd.DataFrame], start: datetime, end: datetime) -> pd.DataFrame:
    """`quarantine` of [start, end): each (file, location, reason) once."""
    quarantine = _concat(frames, QuarantineRecord)
    quarantine["partition_at"] = quarantine["partition_at"].where(
        quarantine["partition_at"].notna(), quarantine["landed_at"]
    )
    quarantine = quarantine[in_window(quarantine["partition_at"], start, end)]
    return (
        quarantine.drop_duplicates(["source_file", "location", "reason"])
        .sort_values(["partition_at", "source_file", "location"], kind="stable")
        .reset_index(drop=True)
    )


@dataclass(frozen=True, slots=True)
class WindowGroup:
    """The tables of [start, end), one group of whole days of a longer read."""

    start: datetime
    end: datetime
    window: IngestedWindow


def read_landing_groups(
    zone: LandingZone,
    start: datetime,
    end: datetime,
    *,
    settings: PipelineSettings,
    days_per_group: int,
    webhook_lookback_days: int | None = None,
) -> Iterator[WindowGroup]:
    """`read_landing_window` of [start, end) as consecutive groups of `days_per_group` days.

    Each group holds the rows `read_landing_window` gives for its own days (a group is a
    window like any partition's: a message in the group it was sent in, a status, error
    or quarantine row in the group of its day), so writing each group replaces the same
    rows as writing the whole window. The files are read and parsed once; only one
    group's messages are frames at a time, so memory is bounded by a group, not by the
    range. The groups share one `IngestionStats`, complete once the last group is out.
    """
    sources = _read_sources(zone, start, end, settings, webhook_lookback_days)
    stats = sources.stats
    first = _first_partition()
    # A year holds 300,000 files at 1M: their landing times are kept as Arrow, not a dict.
    landed_at = _LandedTimes(sources.landed_at_by_file)
    sources.landed_at_by_file.clear()
    starts: list[datetime] = []
    moment = start
    while moment < end:
        starts.append(moment)
        moment += timedelta(days=days_per_group)
    bounds = list(zip(starts, [*starts[1:], end], strict=True))

    # Every source of messages (the webhook days, then each export) is cut into the groups
    # (rows in the source's order) and kept as Arrow until its group is built: compact, and
    # one Parquet read per export. Messages no partition can hold are found over everything
    # read, as one read of the window finds them.
    edges = np.array([pd.Timestamp(moment).value for moment in [*starts, end]], dtype=np.int64)
    pieces: list[list[tuple[pa.Table | pd.DataFrame, pd.Series | None]]] = [[] for _ in bounds]
    cursors: list[_ExportCursor] = []
    outside: list[pd.DataFrame] = []
    quarantine_frames = [frame_of(sources.rejected, QuarantineRecord)]

    def cut(messages: pa.Table | pd.DataFrame, names: pd.Series | None) -> None:
        if isinstance(messages, pa.Table):
            sent = pc.fill_null(pc.cast(messages["sent_at"], pa.int64()), np.iinfo(np.int64).min)
            group_of_row = np.searchsorted(edges, sent.to_numpy(), side="right") - 1
            group_of_row[group_of_row >= len(bounds)] = -1  # sent at or after the end
        else:
            group_of_row = _group_of_rows(messages["sent_at"], edges, len(bounds))
        for group in np.unique(group_of_row[group_of_row >= 0]).tolist():
            positions = np.flatnonzero(group_of_row == group)
            if isinstance(messages, pa.Table):
                pieces[group].append((messages.take(positions), names))
            else:
                pieces[group].append((messages.iloc[positions].reset_index(drop=True), names))

    def outside_of(columns: pd.DataFrame) -> None:
        files = landed_at.series_for(columns["source_file"])
        outside.append(split_outside_partitions(columns, files, first_day=first)[1])

    for part in sources.message_parts:
        if isinstance(part, pa.Table):  # only the rows that may be outside become a frame
            part = part.filter(landed_at.may_be_outside(part, first)).select(_OUTSIDE_COLUMNS)
            outside_of(part.to_pandas())
        else:
            outside_of(_rows_frame(part, MessageRecord)[_OUTSIDE_COLUMNS])
    for part in sources.message_parts:
        cut(part if isinstance(part, pa.Table) else _rows_frame(part, MessageRecord), None)
    sources.message_parts.clear()
    for found in sources.exports:
        if isinstance(found, _ParsedExport):  # rejected whole: no messages
            assert found.messages.empty
            quarantine_frames.append(found.quarantine)
            continue
        quarantine_frames.append(sources.cache.quarantine(found))
        # As for the webhook parts: only the rows that may be outside become a frame, and
        # the participant names are taken from the two columns they need.
        columns = sources.cache.message_table(found, ["conversation_id", "sender_name"])
        if columns.num_rows:
            outside_table = sources.cache.message_table(found, _OUTSIDE_COLUMNS)
            outside_table = outside_table.filter(landed_at.may_be_outside(outside_table, first))
            outside_of(outside_table.to_pandas())
            cursors.append(
                _ExportCursor(
                    sources.cache.messages_path(found), _participant_names_of(columns.to_pandas())
                )
            )
            del outside_table
        del columns
    outside_frame = pd.concat([frame for frame in outside if not frame.empty] or outside[-1:])
    quarantine_frames.append(outside_frame.reset_index(drop=True))
    stats.messages_outside_partitions = int(
        in_window(outside_frame["partition_at"], start, end).sum()
    )
    quarantine = _quarantine_frame(quarantine_frames, start, end)
    api_errors = api_errors_frame(sources.errors)
    # The statuses stay an Arrow table (a third of their frame's memory) until their group
    # is built; only the columns that order and deduplicate them are a frame, for a moment.
    statuses = _all_statuses(sources)
    status_pieces: list[pa.Table | None] = []
    status_frame: pd.DataFrame | None = None
    if isinstance(statuses, pa.Table):
        status_dtypes = _frame_dtypes(statuses)
        keys = ["message_id", "status", "status_at", "source_file"]
        order = _unique_statuses(
            _table_frame(statuses.select(keys), {k: status_dtypes[k] for k in keys}),
            start,
            end,
            stats,
        )
        status_groups = _group_of_rows(order["status_at"], edges, len(bounds))
        # Each group's statuses taken now, in their order, and the whole table let go (with
        # the workers' buffers it was read from): a group's rows are freed once it is built.
        status_positions = order.index.to_numpy()
        status_pieces = [
            statuses.take(status_positions[status_groups == index]) for index in range(len(bounds))
        ]
        del order, status_positions, status_groups
    else:
        status_frame = _unique_statuses(statuses, start, end, stats).reset_index(drop=True)
    del statuses

    by_group = {
        name: (frame, _group_of_rows(frame[column], edges, len(bounds)))
        for name, frame, column in (
            ("quarantine", quarantine, "partition_at"),
            ("api_errors", api_errors, "partition_at"),
        )
    }
    if status_frame is not None:
        by_group["message_statuses"] = (
            status_frame,
            _group_of_rows(status_frame["status_at"], edges, len(bounds)),
        )
    del quarantine, api_errors, status_frame
    for index, (group_start, group_end) in enumerate(bounds):
        frames = []
        for cursor in cursors:
            found_rows = cursor.rows_between(int(edges[index]), int(edges[index + 1]))
            if found_rows is not None:
                pieces[index].append((found_rows, cursor.names))
        for piece, names in pieces[index]:
            messages = piece.to_pandas() if isinstance(piece, pa.Table) else piece
            frames.append(messages if names is None else _with_participant_names(messages, names))
        pieces[index] = []
        raw = _concat(frames, MessageRecord)
        raw, _ = split_outside_partitions(
            raw, landed_at.series_for(raw["source_file"]), first_day=first
        )
        raw = _window_messages(raw, group_start, group_end, sources)
        if status_pieces:
            status_piece, status_pieces[index] = status_pieces[index], None
            assert status_piece is not None, "each group's statuses are built once"
            group_statuses = _table_frame(status_piece, status_dtypes)
        else:
            group_statuses = _rows_of(*by_group["message_statuses"], index)
        yield WindowGroup(
            group_start,
            group_end,
            IngestedWindow(
                raw_messages=raw,
                message_statuses=group_statuses,
                quarantine=_rows_of(*by_group["quarantine"], index),
                stats=stats,
                api_errors=_rows_of(*by_group["api_errors"], index),
            ),
        )


class _LandedTimes:
    """When each file of a read landed, as two Arrow arrays: a year holds 300,000 webhook
    files at 1M, which as a dict (or a Series) cost a hundred MiB for the whole read."""

    def __init__(self, by_file: dict[str, datetime]) -> None:
        self._files = pa.array(list(by_file), pa.string())
        self._times = pa.array(list(by_file.values()), pa.timestamp("ns", tz="UTC"))

    def of(self, files: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Each file's landing time, null for a file not read.

        The few files asked for are hashed and every known file looked up among them:
        hashing all known files at each call would cost a tenth of a second."""
        names = pc.unique(files)
        where = pc.index_in(self._files, value_set=names)  # each known file among `names`
        known = pc.is_valid(where)
        times = np.full(len(names), np.iinfo(np.int64).min, dtype=np.int64)
        positions = where.filter(known).to_numpy(zero_copy_only=False)
        times[positions] = pc.cast(self._times.filter(known), pa.int64()).to_numpy()
        by_name = pa.array(times, pa.int64(), mask=times == np.iinfo(np.int64).min)
        by_row = by_name.take(pc.index_in(files, value_set=names))
        return pc.cast(by_row, pa.timestamp("ns", tz="UTC"))

    def series_for(self, files: pd.Series) -> pd.Series:
        """The landing times of the `files` named, by file (what `split_outside_partitions`
        maps the rows' files through)."""
        names = pd.unique(files.dropna().to_numpy(dtype=object))
        times = self.of(pa.array(names, pa.string())).to_pandas()
        return pd.Series(times.array, index=pd.Index(names, dtype=object))

    def may_be_outside(self, messages: pa.Table, first_day: datetime) -> pa.Array:
        """Which messages `split_outside_partitions` may file in quarantine (sent before
        `first_day`, or after their file landed): a few of a year's, so only they need to
        be a frame. A margin of an hour keeps every message it may find."""
        sent = pc.cast(messages["sent_at"], pa.timestamp("ns", tz="UTC"))
        landed = self.of(messages["source_file"])
        too_old = pc.less(sent, pa.scalar(first_day, pa.timestamp("ns", tz="UTC")))
        latest = pc.add(landed, pa.scalar(FUTURE_TOLERANCE - timedelta(hours=1)))
        too_new = pc.greater(sent, latest)
        return pc.fill_null(pc.or_kleene(too_old, too_new), False)


class _ExportCursor:
    """A cached export's messages read group by group, in the groups' (ascending) order.

    Each Parquet row group (a batch of consecutive messages) is read once, when the first
    group its times overlap is built (by its min/max statistics), and dropped once a group
    starts after its last message: only a few batches of each export are held at once.
    """

    def __init__(self, path: Path, names: pd.Series) -> None:
        self.names = names
        self._file = pq.ParquetFile(path)
        metadata = self._file.metadata
        column = self._file.schema_arrow.get_field_index("sent_at")
        self._spans: list[tuple[int, int]] = []
        for index in range(metadata.num_row_groups):
            statistics = metadata.row_group(index).column(column).statistics
            if statistics is not None and statistics.has_min_max:
                self._spans.append((int(statistics.min_raw), int(statistics.max_raw)))
            else:  # unknown: read with the first group, kept to the end
                self._spans.append((np.iinfo(np.int64).min, np.iinfo(np.int64).max))
        self._loaded: dict[int, pa.Table] = {}

    def rows_between(self, start: int, end: int) -> pa.Table | None:
        """The messages sent in [start, end) (nanoseconds since the epoch), in file order."""
        needed = [i for i, (low, high) in enumerate(self._spans) if low < end and high >= start]
        for index in needed:
            if index not in self._loaded:
                self._loaded[index] = self._file.read_row_group(index, use_pandas_metadata=True)
        rows = None
        if needed:
            table = pa.concat_tables([self._loaded[i] for i in needed])
            sent = pc.cast(table["sent_at"], pa.int64())
            keep = pc.and_(pc.greater_equal(sent, start), pc.less(sent, end))
            rows = table.filter(pc.fill_null(keep, False))
        for index in [i for i in self._loaded if self._spans[i][1] < end]:
            del self._loaded[index]  # later groups start after its last message
        return rows if rows is not None and rows.num_rows else None


# What `split_outside_partitions` reads of a message.
_OUTSIDE_COLUMNS = ["sent_at", "source_file", "location", "message_type", "message_id"]


def _group_of_rows(moments: pd.Series, edges: np.ndarray, groups: int) -> np.ndarray:
    """Each row's group (by the groups' `edges`, nanoseconds since the epoch), -1 for none."""
    utc = pd.to_datetime(moments, utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")
    nanoseconds = np.where(np.isnat(utc), np.iinfo(np.int64).min, utc.astype(np.int64))
    group_of_row = np.searchsorted(edges, nanoseconds, side="right") - 1
    group_of_row[group_of_row >= groups] = -1
    return group_of_row


def _rows_of(frame: pd.DataFrame, group_of_row: np.ndarray, group: int) -> pd.DataFrame:
    return frame[group_of_row == group].reset_index(drop=True)


def api_errors_frame(errors: list[ApiErrorRecord]) -> pd.DataFrame:
    """The `api_errors` rows: each error once, filed under its time (or, without one, its arrival).

    An error re-delivered in a later body keeps its first arrival.
    """
    frame = frame_of(errors, ApiErrorRecord)
    for column in ("occurred_at", "landed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["partition_at"] = frame["occurred_at"].where(
        frame["occurred_at"].notna(), frame["landed_at"]
    )
    frame["code"] = frame["code"].astype("Int64")
    return (
        frame.sort_values(["error_key", "landed_at", "source_file"], kind="stable")
        .drop_duplicates("error_key", keep="first")
        .sort_values(["partition_at", "error_key"], kind="stable")
        .reset_index(drop=True)
    )


def _with_participant_names(messages: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """An export's rows, each with the names of everyone who writes in its chat in the export
    (`names`, from `_participant_names_of` the whole export; by default these rows').

    Cleaning masks these names in text; taken from the whole export (not the window), they
    are the same whichever days a run covers.
    """
    if messages.empty:
        return messages
    if names is None:
        names = _participant_names_of(messages)
    return messages.assign(participant_names=messages["conversation_id"].map(names))


def _participant_names_of(messages: pd.DataFrame) -> pd.Series:
    """Each conversation's senders' names, as a JSON array (sorted), by conversation id."""
    return (
        messages.dropna(subset=["sender_name"])
        .groupby("conversation_id")["sender_name"]
        .agg(lambda values: json.dumps(sorted(set(values)), ensure_ascii=False))
    )


def _with_webhook_participant_names(
    raw: pd.DataFrame, names: dict[str, set[tuple[date, str]]], before: int, after: int
) -> pd.DataFrame:
    """Webhook rows with the profile names their conversation's bodies carry, received within
    `before` days before to `after` days after the row's day: bodies every run over that day
    reads, so the names (masked in text by cleaning) do not depend on the run's range. A
    business's reply then has its customer's name even when the customer wrote on another
    day."""
    webhook = (raw["source"] == "webhook").to_numpy()
    if not webhook.any() or not names:
        return raw
    # Plain lists, not per-row pandas indexing: a year holds hundreds of thousands of rows.
    column = raw["participant_names"].astype(object).tolist()
    positions = np.flatnonzero(webhook)
    conversations = raw["conversation_id"].to_numpy()[positions].tolist()
    days = pd.to_datetime(raw["sent_at"].iloc[positions], utc=True).dt.date.tolist()
    cache: dict[tuple[str, date], str | None] = {}
    by_day: dict[str, list[tuple[date, str]]] = {}  # each conversation's names, by day
    for position, conversation, day in zip(positions.tolist(), conversations, days, strict=True):
        key = (conversation, day)
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            dated = by_day.get(conversation)
            if dated is None:
                dated = by_day[conversation] = sorted(names.get(conversation, ()))
            first, last = day - timedelta(days=before), day + timedelta(days=after)
            lower = bisect.bisect_left(dated, first, key=_first_of)
            upper = bisect.bisect_right(dated, last, key=_first_of)
            found = {n for _, n in dated[lower:upper]}
            value = cache[key] = json.dumps(sorted(found), ensure_ascii=False) if found else None
        column[position] = value
    return raw.assign(participant_names=pd.Series(column, index=raw.index, dtype=object))


def _first_of(pair: tuple[date, str]) -> date:
    return pair[0]


def _concat(frames: list[pd.DataFrame], record_type: type) -> pd.DataFrame:
    # All-null columns are left out before concat (whose dtype choice would otherwise depend
    # on which file happened to leave a column empty) and come back as nulls.
    # `frames` is emptied as it is read, so the inputs do not live beside their copies.
    non_empty = []
    frames.reverse()
    while frames:
        frame = frames.pop()
        if not frame.empty:
            non_empty.append(frame.dropna(axis=1, how="all"))
        del frame
    if not non_empty:
        return frame_of([], record_type)
    columns = list(frame_of([], record_type).columns)
    # Missing values come back as NaN, which both warehouse backends store as NULL.
    combined = pd.concat(non_empty, ignore_index=True).reindex(columns=columns)
    non_empty.clear()
    for column in combined.columns:
        if column.endswith("_at"):
            combined[column] = pd.to_datetime(combined[column], utc=True)
    return combined
