"""Data-quality checks on the conversation summaries: Great Expectations suites per partition.

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

CONVERSATION_SUMMARIES_KEYS = "conversation_summaries_keys"
CONVERSATION_SUMMARIES_VALUES = "conversation_summaries_values"
# The column conversation_summaries is partitioned on: the start of the summarized day.
SUMMARY_TIME_COLUMN = "day_start"


@dg.asset_check(
    asset="conversation_summaries",
    name=CONVERSATION_SUMMARIES_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description=(
        "One summary per conversation and day, inside the day; token counts and cost not negative."
    ),
)
def conversation_summaries_keys(
    context: dg.AssetCheckExecutionContext, conversation_summaries: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        conversation_summaries,
        rules.conversation_summaries_blocking(window.start, window.end, SUMMARY_TIME_COLUMN),
        time_column=SUMMARY_TIME_COLUMN,
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["conversation_id", SUMMARY_TIME_COLUMN],
    )


@dg.asset_check(
    asset="conversation_summaries",
    name=CONVERSATION_SUMMARIES_VALUES,
    partitions_def=daily_partitions,
    description="Every summary has text and covers at least one message; warns only.",
)
def conversation_summaries_values(
    context: dg.AssetCheckExecutionContext, conversation_summaries: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    yield from validation_results(
        context,
        conversation_summaries,
        rules.conversation_summaries_warning(),
        time_column=SUMMARY_TIME_COLUMN,
        severity=dg.AssetCheckSeverity.WARN,
        example_columns=["conversation_id", SUMMARY_TIME_COLUMN],
    )
