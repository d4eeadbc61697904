"""Landing verified bodies: one file per day and content, written before Meta hears 200.

Meta re-delivers a body it thinks was not received (timeouts, 5xx, its own
retries) with the very same bytes. The key holds the receive time, so a
re-delivery would get a new key; instead the store remembers which body hashes
today's folder already holds (listed once per day and process, then kept in
memory) and answers a repeat without writing. Two deliveries of one body in
flight at once share a single write.

A local folder is written by group commit (see `group_commit`): concurrent
bodies share their fsyncs, so the disk's sync rate does not cap requests per
second. Several receiver processes (uvicorn workers, or receivers on machines
sharing the folder) each keep their own memory, so each write also claims its
content under `.receiver-claims/webhooks/dt=<day>/<sha256>` at the zone's root
(outside `webhooks/`, which ingestion lists), a hard link to the landed file:
the first process to claim a body keeps its file, the others remove theirs
before answering 200 and report the claim's key (the same bytes). Claims older
than yesterday are removed when the day changes (a claim keeps the bytes of a
body removed from `webhooks/` until then).
S3 gets one `PutObject` per body, from a worker thread.

Known, accepted duplicates (ingestion deduplicates on the message id anyway):
a re-delivery that arrives after UTC midnight lands in the new day's folder,
and on S3 a repeat that reaches another process within the same day is written
again (no claims there).
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from anyio import to_thread

from wareader_pipelines.landing.layout import (
    WEBHOOK_PREFIX,
    parse_webhook_key,
    webhook_day_prefix,
    webhook_key,
)
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.webhook_receiver.group_commit import GroupCommitWriter

# Days kept in memory: today and yesterday (a request started before midnight may finish after).
_DAYS_KEPT = 2
# Where a local zone's content claims live (outside webhooks/, which ingestion lists).
CLAIMS_PREFIX = ".receiver-claims/"


@dataclass(frozen=True, slots=True)
class StoredBody:
    """Where a body is stored, and whether this delivery was a repeat of one already stored."""

    key: str
    duplicate: bool


class WebhookStore:
    """Writes each verified body to the landing zone once per UTC day and content."""

    def __init__(self, zone: LandingZone) -> None:
        self._zone = zone
        self._writer = None if zone.is_s3 else GroupCommitWriter(Path(zone.uri))
        self._keys_by_day: dict[date, dict[str, str]] = {}
        self._day_locks: dict[date, asyncio.Lock] = {}
        self._in_flight: dict[tuple[date, str], asyncio.Future[str]] = {}

    async def store(self, body: bytes, received_at: datetime) -> StoredBody:
        """Store `body` durably (or find it stored) and return its key; raises if it cannot."""
        key = webhook_key(body, received_at)
        parsed = parse_webhook_key(key)
        assert parsed is not None  # webhook_key always builds a parseable key
        day, sha = parsed.day, parsed.sha256
        known = await self._keys_of(day)
        if sha in known:
            return StoredBody(key=known[sha], duplicate=True)
        pending = self._in_flight.get((day, sha))
        if pending is not None:
            return StoredBody(key=await asyncio.shield(pending), duplicate=True)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._in_flight[(day, sha)] = future
        try:
            if self._writer is not None:
                claim = f"{CLAIMS_PREFIX}{webhook_day_prefix(day)}{sha}"
                stored = await self._writer.write(key, body, claim=claim)
                if stored != key:  # another process landed this body first
                    known[sha] = stored
                    future.set_result(stored)
                    return StoredBody(key=stored, duplicate=True)
            else:
                await to_thread.run_sync(self._zone.write, key, body)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here: waiters re-raise it, nobody else must
            raise
        else:
            known[sha] = key
            future.set_result(key)
        finally:
            del self._in_flight[(day, sha)]
        return StoredBody(key=key, duplicate=False)

    def close(self) -> None:
        """Finish the writes in progress and stop the writer thread."""
        if self._writer is not None:
            self._writer.close()

    async def _keys_of(self, day: date) -> dict[str, str]:
        """Body hash to key for the bodies already in `day`'s folder, listed once."""
        known = self._keys_by_day.get(day)
        if known is not None:
            return known
        lock = self._day_locks.setdefault(day, asyncio.Lock())
        async with lock:
            known = self._keys_by_day.get(day)
            if known is None:
                known = await to_thread.run_sync(self._list_day, day)
                self._keys_by_day[day] = known
                self._forget_before(day)
        return known

    def _forget_before(self, newest: date) -> None:
        for day in sorted(self._keys_by_day)[:-_DAYS_KEPT]:
            if day < newest:
                del self._keys_by_day[day]
                self._day_locks.pop(day, None)

    def _list_day(self, day: date) -> dict[str, str]:
        known: dict[str, str] = {}
        for landed in self._zone.list(webhook_day_prefix(day)):
            parsed = parse_webhook_key(landed.key)
            if parsed is not None:
                known.setdefault(parsed.sha256, landed.key)
        if not self._zone.is_s3:
            self._remove_old_claims(day)
        return known

    def _remove_old_claims(self, newest: date) -> None:
        """Claims of days before yesterday guard nothing: repeats land in today's folder."""
        folder = Path(self._zone.uri) / CLAIMS_PREFIX / WEBHOOK_PREFIX
        if not folder.is_dir():
            return
        oldest_kept = f"dt={(newest - timedelta(days=_DAYS_KEPT - 1)).isoformat()}"
        for day_folder in folder.iterdir():
            if day_folder.name.startswith("dt=") and day_folder.name < oldest_kept:
                shutil.rmtree(day_folder, ignore_errors=True)  # another worker may race us
