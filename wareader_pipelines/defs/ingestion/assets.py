"""Ingestion: the landing zone's webhook bodies and chat exports, as raw tables."""

import sys
from collections.abc import Callable, Iterator

import dagster as dg
import pandas as pd

from wareader_pipelines.landing import outside_partitions, parsed_bodies, window
from wareader_pipelines.landing.run_planning import WEBHOOK_LOOKBACK_TAG
from wareader_pipelines.landing.window import IngestedWindow, read_landing_window
from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_metadata import counts_by, partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.parsing import chat_export, records, webhook_payload
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings

_this = sys.modules[__name__]
# What shapes this stage's rows: a change to any of them marks its assets stale in the UI.
SHAPED_BY = (
    _this,
    window,
    outside_partitions,
    parsed_bodies,  # rows taken from the sensor's cache instead of parsed
    chat_export,
    webhook_payload,
    records,
)


# A table's figures computed from some of its rows (one day's, in a ranged run).
Figures = Callable[[pd.DataFrame], dict[str, object]]

GROUP = "ingestion"
OWNERS = ["team:wareader"]
KINDS = {"python", "pandas", "duckdb"}


def _table_out(
    schema: dg.TableSchema, *, partition_column: str, order_by: list[str], description: str
) -> dg.AssetOut:
    """One of the three tables, partitioned on `partition_column`, for the warehouse IO manager."""
    return dg.AssetOut(
        description=description,
        group_name=GROUP,
        owners=OWNERS,
        kinds=KINDS,
        code_version=code_version(*SHAPED_BY),
        # Not required: a subset run (`--select raw_messages`) yields only the selected tables.
        is_required=False,
        freshness_policy=NIGHTLY_FRESHNESS,
        metadata={
            "dagster/column_schema": schema,
            "partition_expr": partition_column,
            "order_by": order_by,
        },
    )


@dg.multi_asset(
    name="landing_zone_tables",
    description=(
        "Reads one window of the landing zone once and splits it into four tables; "
        "any of them can be materialized alone (the window is still read once)."
    ),
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    can_subset=True,
    outs={
        "raw_messages": _table_out(
            tables.RAW_MESSAGES,
            partition_column="sent_at",
            order_by=["sent_at", "message_id"],
            description=(
                "Every WhatsApp message once, from webhook bodies and chat exports, "
                "on the UTC day it was sent. Holds phone numbers: raw layer, restricted."
            ),
        ),
        "message_statuses": _table_out(
            tables.MESSAGE_STATUSES,
            partition_column="status_at",
            order_by=["status_at", "message_id", "status"],
            description=(
                "Delivery events (sent, delivered, read, failed) of outgoing messages, "
                "once per message and status, on the UTC day they happened."
            ),
        ),
        "api_errors": _table_out(
            tables.API_ERRORS,
            partition_column="partition_at",
            order_by=["partition_at", "error_key"],
            description=(
                "Errors Meta reported, one row each: for the account or number (throttling, "
                "expired token), a message, or a failed status (131047 outside the service "
                "window, 131050 opted out of marketing), with code, title and details."
            ),
        ),
        "quarantine": _table_out(
            tables.QUARANTINE,
            partition_column="partition_at",
            order_by=["partition_at", "source_file", "location"],
            description=(
                "Inputs we could not use (bad lines, malformed bodies, files that are not "
                "chat exports), with the reason; look here when a count seems low."
            ),
        ),
    },
)
def landing_zone_tables(
    context: dg.AssetExecutionContext, landing_zone: LandingZone, settings: PipelineSettings
) -> Iterator[dg.Output]:
    landing_zone.require_root()
    window = context.partition_time_window
    ingested = read_landing_window(
        landing_zone,
        window.start,
        window.end,
        settings=settings,
        webhook_lookback_days=int(context.run.tags.get(WEBHOOK_LOOKBACK_TAG, 0)),
    )
    stats = ingested.stats
    if stats.exports_rejected_remembered:
        context.log.info(
            f"{stats.exports_rejected_remembered} exports were rejected before (same content "
            "and caps): their quarantine rows were reused, not parsed again"
        )
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    for name, frame, figures, run_totals in _tables(ingested):
        if name in selected:
            metadata = partition_figures(
                context, frame, figures, asset_key=dg.AssetKey(name), run_totals=run_totals
            )
            yield dg.Output(frame, output_name=name, metadata=metadata)


def _tables(ingested: IngestedWindow) -> Iterator[tuple[str, pd.DataFrame, Figures, dict]]:
    """The four tables of one read window: each with its figures per day, and the run's own.

    Per-day figures come from the table's rows; what the read as a whole did (files read,
    duplicates dropped) is the run's, labelled so in a ranged run.
    """
    stats = ingested.stats
    yield (
        "raw_messages",
        ingested.raw_messages,
        lambda rows: {
            "by_source": counts_by(rows, "source"),
            "by_type": counts_by(rows, "message_type"),
            "preview": preview(rows, ["sent_at", "source", "message_type", "message_id"]),
        },
        {
            "webhook_bodies_read": stats.webhook_bodies,
            "webhook_bodies_from_sensor_cache": stats.webhook_bodies_from_cache,
            "exports_read": stats.exports,
            "exports_from_cache": stats.exports_from_cache,
            "duplicates_dropped": stats.duplicate_messages,
            "messages_outside_partitions": stats.messages_outside_partitions,
            "webhook_lookback_days": stats.webhook_lookback_days,
        },
    )
    yield (
        "message_statuses",
        ingested.message_statuses,
        lambda rows: {
            "by_status": counts_by(rows, "status"),
            "by_pricing_category": counts_by(rows, "pricing_category"),
            "preview": preview(rows, ["status_at", "status", "error_code", "message_id"]),
        },
        {
            "duplicates_dropped": stats.duplicate_statuses,
            "webhook_errors_by_code": dg.MetadataValue.json(stats.webhook_errors),
        },
    )
    yield (
        "api_errors",
        ingested.api_errors,
        lambda rows: {
            "by_code": counts_by(rows, "code"),
            "by_level": counts_by(rows, "level"),
            "preview": preview(rows, ["partition_at", "level", "code", "title"]),
        },
        {},
    )
    yield (
        "quarantine",
        ingested.quarantine,
        lambda rows: {
            "by_reason": counts_by(rows, "reason"),
            "preview": preview(rows, ["source_file", "location", "reason"]),
        },
        {
            "exports_rejected_whole": len(stats.exports_rejected),
            # Dated before the first partition or after their file landed: kept here, with why.
            "messages_outside_partitions": stats.messages_outside_partitions,
            "exports_rejected_remembered": stats.exports_rejected_remembered,
        },
    )
