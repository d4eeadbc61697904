"""The time partitions every table shares: the UTC day a message was sent, and the month."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from dagster import (
    AutomationCondition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
)

# The first day WhatsApp chat exports can reach back to; earlier partitions would be empty.
HISTORY_START = "2012-01-01"

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
