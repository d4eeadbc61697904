"""Webhook bodies parsed once: the sensor's parse, cached by content for ingestion to reuse.

The `new_webhook_bodies` sensor must parse a new body to learn the days its messages
and statuses fall on (a late delivery touches an old day; the key only says when it
was received). It stores the rows it parsed here, under the body's landing key and
the SHA-256 of its bytes; ingestion then takes a body's rows from here instead of
parsing it again, once the bytes it read have that digest. So each body is parsed
once outside ingestion at most, and ingestion parses only what no sensor saw
(backfills of a zone filled before the sensor ran, a cache on another machine).

The cache is one SQLite file per parser version and pseudonym key (the rows'
ids depend on both), so a changed parser never serves old rows: a new, empty file
is used. SQLite lets the sensor's process write while runs read. Rows are stored
as tuples of their fields, pickled, and read back with an unpickler that builds
nothing but tuples, strings, numbers and datetimes, so a tampered cache file cannot
run code; an entry that does not decode is parsed again. Entries for bodies
received more than `KEEP_DAYS` days before the newest are pruned as the sensor writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import operator
import pickle
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from wareader_pipelines.landing.layout import (
    WEBHOOK_PREFIX,
    parse_webhook_key,
    webhook_day_prefix,
)
from wareader_pipelines.lib.code_versions import source_fingerprint
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing import webhook_payload
from wareader_pipelines.parsing.records import (
    ApiErrorRecord,
    MessageRecord,
    QuarantineRecord,
    StatusRecord,
)
from wareader_pipelines.parsing.webhook_payload import WebhookParseResult

# Entries of bodies received longer ago than this are pruned (ingestion then parses them
# again if an old window is re-run: correct, just not cached).
KEEP_DAYS = 100
_RECORD_TYPES = (MessageRecord, StatusRecord, ApiErrorRecord, QuarantineRecord)
# Each record type's fields, in order, read in one C call per record.
_ROW_OF = tuple(
    operator.attrgetter(*(field.name for field in dataclasses.fields(t))) for t in _RECORD_TYPES
)
# What a pickled entry may name: datetimes and their UTC time zone, nothing else.
_ALLOWED_GLOBALS = frozenset(
    {("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta")}
)


@lru_cache(maxsize=1)
def webhook_parser_fingerprint() -> str:
    """Changes whenever anything that shapes a parsed body's rows does."""
    return source_fingerprint(webhook_payload)


def _key_fingerprint(pseudonyms: Pseudonymizer) -> str:
    """Identifies the pseudonym key (ids in the rows depend on it) without revealing it."""
    return pseudonyms.id_of("cache-fingerprint")[:12]


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parse_body(
    body: bytes, *, key: str, landed_at: datetime, pseudonyms: Pseudonymizer
) -> WebhookParseResult:
    """Parse one body (the one call both the sensor and ingestion make)."""
    return webhook_payload.parse_webhook_body(
        body, source_file=key, landed_at=landed_at, pseudonyms=pseudonyms
    )


def encode(parsed: WebhookParseResult) -> bytes:
    """The rows of a parsed body as a compact blob (tuples of field values)."""
    groups = (parsed.messages, parsed.statuses, parsed.errors, parsed.quarantine)
    return pickle.dumps(
        tuple(list(map(row_of, records)) for records, row_of in zip(groups, _ROW_OF, strict=True)),
        protocol=pickle.HIGHEST_PROTOCOL,
    )


class _RowsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cached body")
        return super().find_class(module, name)  # type: ignore[no-any-return]


def decode(blob: bytes) -> WebhookParseResult:
    """The parsed body an `encode` blob holds."""
    messages, statuses, errors, quarantine = _RowsUnpickler(io.BytesIO(blob)).load()
    return WebhookParseResult(
        messages=[MessageRecord(*row) for row in messages],
        statuses=[StatusRecord(*row) for row in statuses],
        errors=[ApiErrorRecord(*row) for row in errors],
        quarantine=[QuarantineRecord(*row) for row in quarantine],
    )


class ParsedBodies:
    """The cache file for this parser version and pseudonym key."""

    def __init__(self, cache_dir: str | Path, pseudonyms: Pseudonymizer) -> None:
        version = f"{webhook_parser_fingerprint()}-{_key_fingerprint(pseudonyms)}"
        self.path = Path(cache_dir) / "webhooks" / f"parsed-{version}.sqlite3"

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=60.0)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bodies "
            "(key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, rows BLOB NOT NULL) WITHOUT ROWID"
        )
        return connection

    def entries(self, keys: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        """key -> (sha256, blob) of the cached ones among `keys`."""
        wanted = list(keys)
        if not wanted or not self.path.exists():
            return {}
        found: dict[str, tuple[str, bytes]] = {}
        try:
            with closing(sqlite3.connect(self.path, timeout=60.0)) as connection:
                for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    for key, digest, blob in connection.execute(
                        f"SELECT key, sha256, rows FROM bodies WHERE key IN ({marks})", chunk
                    ):
                        found[key] = (digest, blob)
        except sqlite3.Error:  # a cache being created or damaged: parse instead, never fail
            return {}
        return found

    def entries_between(self, first: date, last: date) -> dict[str, tuple[str, bytes]]:
        """key -> (sha256, blob) of every cached body received on the days first..last (one
        query over the key index)."""
        if not self.path.exists():
            return {}
        try:
            with closing(sqlite3.connect(self.path, timeout=60.0)) as connection:
                rows = connection.execute(
                    "SELECT key, sha256, rows FROM bodies WHERE key >= ? AND key < ?",
                    # '/' + 1 == '0': up to and including every key under the last day's folder
                    (webhook_day_prefix(first), webhook_day_prefix(last)[:-1] + "0"),
                ).fetchall()
        except sqlite3.Error:  # a cache being created or damaged: parse instead, never fail
            return {}
        return {key: (digest, blob) for key, digest, blob in rows}

    def store(self, entries: Iterable[tuple[str, str, bytes]]) -> None:
        """Add (key, sha256, blob) entries, and prune those received more than `KEEP_DAYS`
        days before the latest one added."""
        rows = list(entries)
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        latest = max(parsed.day for key, _, _ in rows if (parsed := parse_webhook_key(key)))
        oldest = webhook_day_prefix(latest - timedelta(days=KEEP_DAYS))
        with closing(self._connect()) as connection, connection:  # one transaction
            connection.executemany("INSERT OR REPLACE INTO bodies VALUES (?, ?, ?)", rows)
            connection.execute(
                "DELETE FROM bodies WHERE key >= ? AND key < ?", (WEBHOOK_PREFIX, oldest)
            )


def cached_parse(entry: tuple[str, bytes] | None, digest: str) -> WebhookParseResult | None:
    """The cached rows if `entry` was stored for the bytes whose SHA-256 is `digest`."""
    if entry is None or entry[0] != digest:
        return None
    try:
        return decode(entry[1])
    except Exception:  # a damaged entry: parse the body again
        return None
