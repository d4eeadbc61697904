"""The time partitions every table shares: the UTC day a message was sent, and the month.

The first day is the deployment's own (`WAREADER_HISTORY_START`, read once when the
code location loads, as Dagster needs its partitions before any resource exists).
Messages sent before it are not lost: ingestion files them in `quarantine` with the
fix (landing/outside_partitions.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from dagster import (
    AutomationCondition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
)

HISTORY_START_VARIABLE = "WAREADER_HISTORY_START"
# The shipped sample and generated zones live in 2024; a deployment sets its own first day.
DEFAULT_HISTORY_START = "2024-01-01"


def history_start(value: str | None) -> str:
    """The first partition's day from the setting's value, refusing anything but YYYY-MM-DD."""
    text = (value or DEFAULT_HISTORY_START).strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{HISTORY_START_VARIABLE}={text!r} is not a date: write the first day of the "
            "deployment's history as YYYY-MM-DD, e.g. 2019-06-01"
        ) from None
    if day < date(2009, 1, 1):
        raise ValueError(
            f"{HISTORY_START_VARIABLE}={text}: WhatsApp began in 2009; use 2009-01-01 or later"
        )
    return day.isoformat()


HISTORY_START = history_start(os.environ.get(HISTORY_START_VARIABLE))

# end_offset=1 keeps today's partition open, so sensors can ingest what arrives today.
daily_partitions = DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC", end_offset=1)
monthly_partitions = MonthlyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC")

# A backfill over years runs as ranged runs of about a quarter each: a dozen runs for three
# years instead of a thousand, and a crash costs one quarter, not the whole range.
DAILY_BACKFILL_POLICY = BackfillPolicy.multi_run(max_partitions_per_run=92)

# The run tags that make one run cover a partition range (what the UI and
# `dagster asset materialize --partition-range` set). Dagster documents the tag names but
# exports the constants only from `dagster._core`, so they are written here, once.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def in_window(values: pd.Series, start: datetime, end: datetime) -> pd.Series:
    """Which of `values` (moments, any time zone) fall in the partition window [start, end)."""
    moments = pd.to_datetime(values, utc=True)
    return (moments >= pd.Timestamp(start)) & (moments < pd.Timestamp(end))


def partition_of_rows(
    times: pd.Series, keys: Sequence[str], windows: Sequence[tuple[object, object]]
) -> list[str | None]:
    """Each row's partition key: the window [start, end) holding its time, else None."""
    if len(times) == 0:
        return []
    # Naive UTC datetime64 arrays: one vectorised search, NaT for missing times.
    moments = pd.to_datetime(times, utc=True, format="ISO8601").dt.tz_localize(None).to_numpy()
    starts = pd.DatetimeIndex([pd.Timestamp(s) for s, _ in windows]).tz_convert(None).to_numpy()
    ends = pd.DatetimeIndex([pd.Timestamp(e) for _, e in windows]).tz_convert(None).to_numpy()
    position = starts.searchsorted(moments, side="right") - 1
    safe = position.clip(min=0)
    inside = ~pd.isna(moments) & (position >= 0) & (moments < ends[safe])
    names = pd.Series(list(keys), dtype=object).to_numpy()[safe]
    return [name if ok else None for name, ok in zip(names, inside, strict=True)]


# Monthly assets (archives, reports): a closed month is built once it appears (the latest monthly partition is the month
# that just ended), and any month is rebuilt when one of its days is re-materialized
# upstream: late webhooks and backfills reach old months too, which `eager()` (latest
# window only) would miss. Missing upstream days do not block: a day without messages
# is a normal day. The month in progress is not a partition yet, so it never sends
# a notice per day.
MONTHLY_AUTOMATION = (
    (
        (AutomationCondition.in_latest_time_window() & AutomationCondition.newly_missing())
        | AutomationCondition.any_deps_updated()
    ).since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("month closed, or one of its days changed")
