"""Data-quality checks on the ingestion tables: Great Expectations suites per partition.

Each check is partitioned like its table and reads the same window through the
warehouse IO manager. Blocking checks (ids, keys, partition placement) stop the
run before downstream assets read bad rows; the others only warn.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from wareader_pipelines.lib.asset_checks import validation_results
from wareader_pipelines.lib.partitions import daily_partitions
from wareader_pipelines.quality import rules

RAW_MESSAGES_KEYS = "raw_messages_keys"
RAW_MESSAGES_VALUES = "raw_messages_values"
MESSAGE_STATUSES_KEYS = "message_statuses_keys"
MESSAGE_STATUSES_VALUES = "message_statuses_values"
QUARANTINE_KEYS = "quarantine_keys"
API_ERRORS_KEYS = "api_errors_keys"


@dg.asset_check(
    asset="raw_messages",
    name=RAW_MESSAGES_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="Message ids unique; ids, conversation and time present; times inside the day.",
)
def raw_messages_keys(
    context: dg.AssetCheckExecutionContext, raw_messages: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        raw_messages,
        rules.raw_messages_blocking(window.start, window.end),
        time_column="sent_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["message_id", "sent_at"],
    )


@dg.asset_check(
    asset="raw_messages",
    name=RAW_MESSAGES_VALUES,
    partitions_def=daily_partitions,
    description="Message types are the Cloud API's names (or deleted/media); warns only.",
)
def raw_messages_values(
    context: dg.AssetCheckExecutionContext, raw_messages: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    yield from validation_results(
        context,
        raw_messages,
        rules.raw_messages_warning(),
        time_column="sent_at",
        severity=dg.AssetCheckSeverity.WARN,
        example_columns=["message_id", "source_file"],
    )


@dg.asset_check(
    asset="message_statuses",
    name=MESSAGE_STATUSES_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="One row per message and status; keys present; times inside the day.",
)
def message_statuses_keys(
    context: dg.AssetCheckExecutionContext, message_statuses: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        message_statuses,
        rules.message_statuses_blocking(window.start, window.end),
        time_column="status_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["message_id", "status", "status_at"],
    )


@dg.asset_check(
    asset="message_statuses",
    name=MESSAGE_STATUSES_VALUES,
    partitions_def=daily_partitions,
    description="Statuses are ones the Cloud API sends; warns only.",
)
def message_statuses_values(
    context: dg.AssetCheckExecutionContext, message_statuses: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    yield from validation_results(
        context,
        message_statuses,
        rules.message_statuses_warning(),
        time_column="status_at",
        severity=dg.AssetCheckSeverity.WARN,
        example_columns=["message_id", "source_file"],
    )


@dg.asset_check(
    asset="quarantine",
    name=QUARANTINE_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="Every rejected input names its file and reason, filed inside the day.",
)
def quarantine_keys(
    context: dg.AssetCheckExecutionContext, quarantine: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        quarantine,
        rules.quarantine_blocking(window.start, window.end),
        time_column="partition_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["source_file", "location"],
    )


@dg.asset_check(
    asset="api_errors",
    name=API_ERRORS_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="Each API error once (error_key unique), with its level, filed inside the day.",
)
def api_errors_keys(
    context: dg.AssetCheckExecutionContext, api_errors: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        api_errors,
        rules.api_errors_blocking(window.start, window.end),
        time_column="partition_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["error_key", "code"],
    )
