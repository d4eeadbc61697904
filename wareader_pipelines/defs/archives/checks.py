"""Data-quality checks on the conversation archives: Great Expectations suites per month.

Each check is partitioned like its table (monthly) and reads the same window through the
warehouse IO manager. Blocking checks (ids, keys, partition placement) stop the
run before downstream assets read bad rows; the others only warn.
"""

import dagster as dg
import pandas as pd

from wareader_pipelines.partitions import monthly_partitions
from wareader_pipelines.quality import rules
from wareader_pipelines.quality.expectations import (
    Expectation,
    examples_markdown,
    summary,
    validate,
)

CONVERSATION_ARCHIVES_KEYS = "conversation_archives_keys"


def _result(
    frame: pd.DataFrame,
    expectations: list[Expectation],
    *,
    severity: dg.AssetCheckSeverity,
    example_columns: list[str],
) -> dg.AssetCheckResult:
    validation = validate(frame, expectations, example_columns=example_columns)
    return dg.AssetCheckResult(
        passed=validation.passed,
        severity=severity,
        metadata={
            **summary(validation),
            "examples": dg.MetadataValue.md(examples_markdown(validation)),
        },
    )


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
) -> dg.AssetCheckResult:
    window = context.partition_time_window
    return _result(
        conversation_archives,
        rules.conversation_archives_blocking(window.start, window.end),
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["conversation_id", "period", "uri"],
    )
