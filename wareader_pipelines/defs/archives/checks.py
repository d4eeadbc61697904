"""Data-quality checks on the conversation archives: Great Expectations suites per month.

Each check is partitioned like its table (monthly) and reads the same window through the
warehouse IO manager. Blocking checks (ids, keys, partition placement) stop the
run before downstream assets read bad rows; the others only warn.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from wareader_pipelines.lib.asset_checks import validation_results
from wareader_pipelines.lib.partitions import monthly_partitions
from wareader_pipelines.quality import rules

CONVERSATION_ARCHIVES_KEYS = "conversation_archives_keys"


@dg.asset_check(
    asset="conversation_archives",
    name=CONVERSATION_ARCHIVES_KEYS,
    blocking=True,
    partitions_def=monthly_partitions,
    description=(
        "One archive per conversation and month, stored somewhere, with a SHA-256 of "
        "its bytes and a size."
    ),
)
def conversation_archives_keys(
    context: dg.AssetCheckExecutionContext, conversation_archives: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        conversation_archives,
        rules.conversation_archives_blocking(window.start, window.end),
        time_column="period_start",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["conversation_id", "period", "uri"],
    )
