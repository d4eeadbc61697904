"""Archives: each conversation's month as a zip in the blob store, announced by e-mail
and by the `export.completed` webhook."""

import sys
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from wareader_pipelines import __version__
from wareader_pipelines.archives import (
    conversation_archive,
    deterministic_zip,
    export_media,
    transcript,
)
from wareader_pipelines.archives.conversation_archive import month_period
from wareader_pipelines.archives.export_media import ExportZips
from wareader_pipelines.defs.archives import publishing
from wareader_pipelines.defs.archives.publishing import (
    previous_archives,
    publish_month,
    report_pngs,
)
from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_metadata import partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.partitions import MONTHLY_AUTOMATION, in_window, monthly_partitions
from wareader_pipelines.nlp import pii
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.email import EmailNotifier
from wareader_pipelines.resources.export_webhooks import ExportWebhooks
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse

_this = sys.modules[__name__]
# What shapes this stage's rows: a change to any of them marks its assets stale in the UI.
SHAPED_BY = (
    _this,
    publishing,
    conversation_archive,
    transcript,
    deterministic_zip,
    export_media,
    pii,
)


ARCHIVES_TABLE = "conversation_archives"
SUMMARIES_PARTITION_COLUMN = "day_start"


class ArchiveConfig(dg.Config):
    """Run options of the archive build."""

    allow_phone_numbers: bool = Field(
        default=False, description="Keep phone numbers in archives (masked as [PHONE] otherwise)."
    )


def _in_window(frame: pd.DataFrame, column: str, start: datetime, end: datetime) -> pd.DataFrame:
    if frame.empty or column not in frame.columns:
        return frame.iloc[0:0]
    return frame[in_window(frame[column], start, end)]


@dg.asset(
    key=ARCHIVES_TABLE,
    description=(
        "One zip per conversation and month (readable transcript, JSON Lines, day summaries, "
        "the month's report.png, the export's verified media, manifest) in the blob store, announced once by e-mail and webhook; rebuilt when a "
        "day of the month changes, re-sent only when its bytes change."
    ),
    # The month's days of each upstream table; summaries come as an empty frame until the
    # summaries stage has run, and the archive is built without them.
    ins={
        "raw_messages": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping()),
        "conversation_summaries": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping()),
        # the month's pictures (same monthly partitions), added as report.png
        "conversation_reports": dg.AssetIn(),
    },
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=12),
    automation_condition=MONTHLY_AUTOMATION,
    group_name="archives",
    owners=["team:wareader"],
    kinds={"python", "s3", "duckdb"},
    code_version=code_version(*SHAPED_BY),
    metadata={
        "dagster/column_schema": tables.CONVERSATION_ARCHIVES,
        "partition_expr": "period_start",
        "order_by": ["period_start", "conversation_id"],
    },
)
def conversation_archives(
    context: dg.AssetExecutionContext,
    config: ArchiveConfig,
    raw_messages: pd.DataFrame,
    conversation_summaries: pd.DataFrame,
    conversation_reports: pd.DataFrame,
    blob_store: BlobStore,
    email: EmailNotifier,
    export_webhooks: ExportWebhooks,
    warehouse: Warehouse,
    settings: PipelineSettings,
    landing_zone: LandingZone,
) -> dg.Output:
    window = context.partition_time_window
    # One row per conversation and month: small enough to read whole, portable across
    # DuckDB and PostgreSQL (no placeholder dialects), filtered to this run's months.
    previous = _in_window(
        warehouse.query(f"SELECT * FROM {{schema}}.{ARCHIVES_TABLE}")
        if warehouse.table_exists(ARCHIVES_TABLE)
        else pd.DataFrame(),
        "period_start",
        window.start,
        window.end,
    )
    lifecycle_written = blob_store.ensure_lifecycle_rules()
    now = datetime.now(UTC).replace(microsecond=0)
    # Each export zip is read once for the whole build, however many months it spans,
    # from its file (an S3 object through a temporary file), never loaded whole.
    export_zips = ExportZips(
        _in_window(raw_messages, "sent_at", window.start, window.end), landing_zone.open
    )
    published = []
    for key in context.partition_keys:
        month = monthly_partitions.time_window_for_partition_key(key)
        published += publish_month(
            messages=_in_window(raw_messages, "sent_at", month.start, month.end),
            summaries=_in_window(
                conversation_summaries, SUMMARIES_PARTITION_COLUMN, month.start, month.end
            ),
            period=month_period(month.start, month.end),
            previous=previous_archives(previous),
            blob_store=blob_store,
            email=email,
            webhooks=export_webhooks,
            pipeline_version=__version__,
            allow_phone_numbers=config.allow_phone_numbers,
            phone_region=settings.phone_region,
            default_timezone=settings.export_timezone,
            now=now,
            read_export=export_zips,
            reports=report_pngs(
                _in_window(conversation_reports, "period_start", month.start, month.end)
            ),
        )
    frame = pd.DataFrame(
        [p.row for p in published], columns=[c.name for c in tables.CONVERSATION_ARCHIVES.columns]
    )
    failed_webhooks = sorted({f"{d.url}: {d.error}" for p in published for d in p.failed_webhooks})
    if failed_webhooks:
        context.log.warning(f"webhook receivers failed: {failed_webhooks}")
    media_skipped = sorted(note for p in published for note in p.media_notes)
    if media_skipped:
        context.log.warning(f"export media left out of archives: {media_skipped}")
    return dg.Output(
        frame,
        metadata=partition_figures(
            context,
            frame,
            _figures,
            constants={"blob_store": dg.MetadataValue.text(blob_store.uri)},
            run_totals={
                "notices_sent": sum(p.notice_sent for p in published),
                "media_skipped": dg.MetadataValue.json(media_skipped),
                "email_notes": dg.MetadataValue.json(
                    sorted(p.email_note for p in published if p.email_note)
                ),
                "failed_webhooks": dg.MetadataValue.json(failed_webhooks),
                "lifecycle_rule_written": lifecycle_written,
            },
        ),
    )


def _figures(rows: pd.DataFrame) -> dict[str, object]:
    """What the UI shows for some of the archives (one month's, in a ranged run)."""
    return {
        "archives": len(rows),
        "uploaded": int(rows["uploaded"].sum()) if len(rows) else 0,
        "unchanged": int((~rows["uploaded"].astype(bool)).sum()) if len(rows) else 0,
        "archive_bytes": int(rows["bytes"].sum()) if len(rows) else 0,
        "summaries_included": int(rows["summary_count"].sum()) if len(rows) else 0,
        "media_included": int(rows["media_count"].sum()) if len(rows) else 0,
        "preview": preview(
            rows, ["conversation_id", "period", "message_count", "uploaded", "email_status"]
        ),
    }
