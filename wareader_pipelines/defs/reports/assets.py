"""Reports: each conversation's month as a one-page picture, and the whole account on one.

Both read the marts (and the enrichment tables) through the warehouse resource and
show their picture on the materialization as markdown, so it appears in the UI's
asset page. The monthly PNGs are also stored in `conversation_reports`, from which
the archive adds `report.png` to each conversation's zip.
"""

import base64
import hashlib
import sys
from collections.abc import Iterator
from datetime import date

import dagster as dg
import pandas as pd
from pydantic import Field

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_checks import validation_results
from wareader_pipelines.lib.asset_metadata import partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.partitions import MONTHLY_AUTOMATION, monthly_partitions
from wareader_pipelines.quality import rules
from wareader_pipelines.reports import account_overview as overview_page
from wareader_pipelines.reports import conversation_report, png
from wareader_pipelines.reports import mart_queries as q
from wareader_pipelines.reports.account_overview import AccountOverview, render_account_overview
from wareader_pipelines.reports.conversation_report import conversation_months, report_rows
from wareader_pipelines.reports.png import markdown_image
from wareader_pipelines.resources.warehouse import Warehouse

# What shapes the pictures: a change to any of them marks the assets stale in the UI.
SHAPED_BY = (sys.modules[__name__], conversation_report, overview_page, png, q)
REPORTS_TABLE = "conversation_reports"
REPORTS_KEYS = "conversation_reports_keys"
OVERVIEW_PICTURE = "account_overview_picture"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pictures shown inline on one materialization (the table holds all of them).
SHOWN_IN_UI = 3


class ReportConfig(dg.Config):
    """Run options of the monthly reports."""

    min_messages: int = Field(
        default=20,
        description="Conversations with fewer messages in the month get no picture (skipped).",
    )
    workers: int = Field(
        default=2, description="Processes drawing pictures at once (drawing is CPU-bound)."
    )


def _read(warehouse: Warehouse, table: str, sql: str, *, schema: str | None = None) -> pd.DataFrame:
    if not warehouse.table_exists(table, schema=schema):
        return pd.DataFrame()
    return warehouse.query(sql)


@dg.asset(
    key=REPORTS_TABLE,
    description=(
        "One picture per conversation and month (the conversation's local month): messages "
        "per local day, local-time activity, who answers whom, top emoji, sentiment trend "
        "and the month's summary. Shown here and added to the conversation's archive as "
        "report.png; an unchanged month keeps its stored bytes (not redrawn)."
    ),
    deps=[
        "fct_messages",
        "fct_replies",
        "activity_heatmap",
        "message_emoji",
        "conversation_summaries",
    ],
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=12),
    automation_condition=MONTHLY_AUTOMATION,
    group_name="reports",
    owners=["team:wareader"],
    kinds={"python", "matplotlib", "duckdb"},
    code_version=code_version(*SHAPED_BY),
    metadata={
        "dagster/column_schema": tables.CONVERSATION_REPORTS,
        "partition_expr": "period_start",
        "order_by": ["period_start", "conversation_id"],
    },
)
def conversation_reports(
    context: dg.AssetExecutionContext, config: ReportConfig, warehouse: Warehouse
) -> dg.Output:
    months = []
    for key in context.partition_keys:
        month = monthly_partitions.time_window_for_partition_key(key)
        start, end = month.start, month.end
        months += conversation_months(
            period=start.strftime("%Y-%m"),
            first_day=date(start.year, start.month, 1),
            days=(end - start).days,
            messages=_read(
                warehouse, "fct_messages", q.month_messages(start, end), schema=q.MARTS_SCHEMA
            ),
            replies=_read(
                warehouse, "fct_replies", q.month_replies(start, end), schema=q.MARTS_SCHEMA
            ),
            heatmap=_read(
                warehouse, "activity_heatmap", q.month_heatmap(start), schema=q.MARTS_SCHEMA
            ),
            emoji=_read(warehouse, "message_emoji", q.month_emoji(start, end)),
            summaries=_read(warehouse, "conversation_summaries", q.month_summaries(start, end)),
        )
    window = context.partition_time_window
    # all months of the run in one pool; pages whose inputs did not change are kept as stored
    frame = report_rows(
        months,
        min_messages=config.min_messages,
        workers=config.workers,
        stored=_read(warehouse, REPORTS_TABLE, q.stored_reports(window.start, window.end)),
    )
    return dg.Output(
        frame,
        metadata=partition_figures(
            context, frame, _figures, run_totals={"redrawn": int(frame.attrs.get("redrawn", 0))}
        ),
    )


def _figures(rows: pd.DataFrame) -> dict[str, object]:
    """What the UI shows for some of the reports (one month's, in a ranged run)."""
    rendered = rows[rows["status"] == "rendered"] if len(rows) else rows
    shown = rendered.sort_values(["message_count", "conversation_id"], ascending=[False, True])
    pictures = "\n\n".join(
        f"**{row.conversation_id[:10]} · {row.period}** ({row.message_count} messages)\n\n"
        + markdown_image(_png(row.png_base64), f"report {row.period}")
        for row in shown.head(SHOWN_IN_UI).itertuples()
    )
    return {
        "reports": len(rendered),
        "skipped": len(rows) - len(rendered),
        "report_bytes": int(rendered["png_bytes"].sum()) if len(rendered) else 0,
        "pictures": dg.MetadataValue.md(pictures or "No conversation had enough messages."),
        "preview": preview(
            rows, ["conversation_id", "period", "message_count", "status", "png_sha256"]
        ),
    }


def _png(encoded: str) -> bytes:
    return base64.b64decode(encoded)


@dg.asset(
    description=(
        "The whole account on one page: messages per month, languages, sentiment per week "
        "and the busiest local hours over every conversation."
    ),
    deps=["fct_messages", "sentiment_by_week", "activity_heatmap"],
    check_specs=[
        dg.AssetCheckSpec(
            OVERVIEW_PICTURE,
            asset="account_overview",
            description="The page is a PNG and counts every conversation of fct_messages.",
        )
    ],
    automation_condition=dg.AutomationCondition.eager(),
    group_name="reports",
    owners=["team:wareader"],
    kinds={"python", "matplotlib"},
    code_version=code_version(*SHAPED_BY),
)
def account_overview(warehouse: Warehouse) -> dg.MaterializeResult:
    schema = q.MARTS_SCHEMA
    totals = _read(warehouse, "fct_messages", q.ACCOUNT_TOTALS, schema=schema)
    overview = AccountOverview(
        conversations=int(totals["conversations"].iloc[0]) if len(totals) else 0,
        messages=int(totals["messages"].iloc[0]) if len(totals) else 0,
        participants=int(totals["participants"].iloc[0]) if len(totals) else 0,
        by_month=_or_empty(
            _read(warehouse, "fct_messages", q.ACCOUNT_BY_MONTH, schema=schema),
            ["month_start", "messages", "conversations"],
        ),
        languages=_or_empty(
            _read(warehouse, "fct_messages", q.ACCOUNT_LANGUAGES, schema=schema),
            ["language", "messages"],
        ),
        sentiment=_or_empty(
            _read(warehouse, "sentiment_by_week", q.ACCOUNT_SENTIMENT, schema=schema),
            ["week_start", "mean_score", "messages_scored"],
        ),
        hours=_or_empty(
            _read(warehouse, "activity_heatmap", q.ACCOUNT_HOURS, schema=schema),
            ["local_weekday", "local_hour", "messages"],
        ),
    )
    png = render_account_overview(overview)
    per_month = int(overview.by_month["messages"].sum()) if len(overview.by_month) else 0
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name=OVERVIEW_PICTURE,
                passed=png.startswith(PNG_SIGNATURE) and per_month == overview.messages,
                metadata={"png_bytes": len(png), "messages_by_month": per_month},
            )
        ],
        metadata={
            "overview": dg.MetadataValue.md(markdown_image(png, "account overview")),
            "conversations": overview.conversations,
            "messages": overview.messages,
            "png_sha256": hashlib.sha256(png).hexdigest(),
        },
    )


def _or_empty(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame if len(frame) else pd.DataFrame(columns=columns)


@dg.asset_check(
    asset=REPORTS_TABLE,
    name=REPORTS_KEYS,
    blocking=True,
    partitions_def=monthly_partitions,
    description="One row per conversation and month, inside the month; checksums are SHA-256.",
)
def conversation_reports_keys(
    context: dg.AssetCheckExecutionContext, conversation_reports: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        conversation_reports.drop(columns=["png_base64"], errors="ignore"),
        rules.conversation_reports_blocking(window.start, window.end),
        time_column="period_start",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["conversation_id", "period"],
    )
