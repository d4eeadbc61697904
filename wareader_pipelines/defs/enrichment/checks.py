"""Data-quality checks on the enrichment tables: Great Expectations suites per partition.

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

CLEANED_MESSAGES_KEYS = "cleaned_messages_keys"
CLEANED_MESSAGES_VALUES = "cleaned_messages_values"
MESSAGE_SENTIMENT_KEYS = "message_sentiment_keys"
# The column message_sentiment is partitioned on.
SENTIMENT_TIME_COLUMN = "sent_at"


@dg.asset_check(
    asset="cleaned_messages",
    name=CLEANED_MESSAGES_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="Message ids unique; ids, conversation and time present; times inside the day.",
)
def cleaned_messages_keys(
    context: dg.AssetCheckExecutionContext, cleaned_messages: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        cleaned_messages,
        rules.cleaned_messages_blocking(window.start, window.end),
        time_column="sent_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["message_id", "sent_at"],
    )


@dg.asset_check(
    asset="cleaned_messages",
    name=CLEANED_MESSAGES_VALUES,
    partitions_def=daily_partitions,
    description=(
        "Languages are ISO 639-1 codes with confidence in 0..1; counts are not negative; "
        "warns only."
    ),
)
def cleaned_messages_values(
    context: dg.AssetCheckExecutionContext, cleaned_messages: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    yield from validation_results(
        context,
        cleaned_messages,
        rules.cleaned_messages_warning(),
        time_column="sent_at",
        severity=dg.AssetCheckSeverity.WARN,
        example_columns=["message_id", "language_method"],
    )


@dg.asset_check(
    asset="message_sentiment",
    name=MESSAGE_SENTIMENT_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="One row per message; label positive/neutral/negative and score in -1..1 when set.",
)
def message_sentiment_keys(
    context: dg.AssetCheckExecutionContext, message_sentiment: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        message_sentiment,
        rules.message_sentiment_blocking(window.start, window.end, SENTIMENT_TIME_COLUMN),
        time_column=SENTIMENT_TIME_COLUMN,
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["message_id", "method"],
    )
