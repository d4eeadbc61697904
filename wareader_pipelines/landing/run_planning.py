"""Which daily partitions new landing-zone files touch, and how to ask for them once.

Pure logic behind the sensors and the nightly schedule (no Dagster here): the
sensors read and parse new files, this module turns what they found into day
ranges, run keys and cursors.

- A webhook body touches the days its messages were sent and its statuses
  happened; a body that only yields errors or quarantine rows touches the day
  it was received (that is where ingestion files them).
- Keys sort by receive time, so the webhook cursor is simply the last key
  handled. A key is handled only once it is older than a settling delay, so a
  write still in flight (its key sorts before later ones) cannot be skipped.
- Run keys hash the exact keys a request covers: the same files never ask
  twice, and new files for an old day ask again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from wareader_pipelines.parsing.records import MessageRecord, StatusRecord

# A run tag raising ingestion's look-back for that run: set when bodies landed long after the
# days they touch (a `history` replay carries messages up to 180 days old).
WEBHOOK_LOOKBACK_TAG = "wareader/webhook_lookback_days"


@dataclass(frozen=True, slots=True, order=True)
class DayRange:
    """The UTC days first..last, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def day_ranges(days: Iterable[date], *, max_days: int) -> list[DayRange]:
    """Contiguous runs of `days`, each at most `max_days` long, in order."""
    ranges: list[DayRange] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1].last + timedelta(days=1) and ranges[-1].days < max_days:
            ranges[-1] = DayRange(ranges[-1].first, day)
        else:
            ranges.append(DayRange(day, day))
    return ranges


def days_of_webhook(
    messages: Iterable[MessageRecord],
    statuses: Iterable[StatusRecord],
    *,
    has_other_rows: bool,
    received_at: datetime,
) -> set[date]:
    """The UTC days whose partitions a webhook body adds rows to."""
    days = {m.sent_at.astimezone(UTC).date() for m in messages}
    days |= {s.status_at.astimezone(UTC).date() for s in statuses}
    if has_other_rows:
        days.add(received_at.astimezone(UTC).date())
    return days


def lookback_needed(days: DayRange, received_days: Iterable[date]) -> int:
    """Days after `days.last` that ingestion must read for bodies received on `received_days`."""
    return max((max(0, (received - days.last).days) for received in received_days), default=0)


def days_of_parsed_export(messages: pd.DataFrame, quarantine: pd.DataFrame) -> DayRange | None:
    """The whole date range an export spans, or None if it yields nothing.

    A bad line is filed beside its neighbouring messages (inside the range); a
    whole-file rejection on the day the file landed.
    """
    days = set(pd.to_datetime(messages["sent_at"], utc=True).dt.date) if len(messages) else set()
    for row in quarantine.itertuples(index=False):
        if row.partition_at is not None and not pd.isna(row.partition_at):
            days.add(pd.Timestamp(row.partition_at).tz_convert(UTC).date())
        elif not str(row.location).startswith("line ") or not days:
            days.add(pd.Timestamp(row.landed_at).tz_convert(UTC).date())
    if not days:
        return None
    return DayRange(min(days), max(days))


def run_key(kind: str, days: DayRange, keys: Iterable[str]) -> str:
    """A run key naming the days and the exact files a request is for."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:20]
    span = days.first.isoformat() if days.days == 1 else f"{days.first}..{days.last}"
    return f"{kind}:{span}:{digest}"


def is_settled(received_at: datetime, *, now: datetime, settle: timedelta) -> bool:
    """Whether a file received at `received_at` can no longer be overtaken by one in flight."""
    return received_at <= now - settle


def last_complete_day(at: datetime) -> date:
    """The last UTC day that had fully ended at `at`: what a nightly run processes."""
    return at.astimezone(UTC).date() - timedelta(days=1)


@dataclass(slots=True)
class ExportCursor:
    """What the export sensor has seen (key -> size/mtime) and the contents it has imported."""

    seen: dict[str, str] = field(default_factory=dict)
    imported: set[str] = field(default_factory=set)

    @classmethod
    def from_json(cls, text: str | None) -> ExportCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(seen=dict(data.get("seen", {})), imported=set(data.get("imported", [])))

    def to_json(self) -> str:
        return json.dumps(
            {"seen": dict(sorted(self.seen.items())), "imported": sorted(self.imported)},
            separators=(",", ":"),
        )


def fingerprint(size: int, modified_at: datetime) -> str:
    """A cheap change marker for a landed file: a changed one is hashed again."""
    return f"{size}:{modified_at.astimezone(UTC).isoformat()}"
