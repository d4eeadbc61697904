"""Data-quality check on message_media: one row per message and media, placed in its day."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from wareader_pipelines.lib.asset_checks import validation_results
from wareader_pipelines.lib.partitions import daily_partitions
from wareader_pipelines.quality import rules

MESSAGE_MEDIA_KEYS = "message_media_keys"


@dg.asset_check(
    asset="message_media",
    name=MESSAGE_MEDIA_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description=(
        "One row per message and media id; keys present; times inside the day; known statuses; "
        "sha256 well formed where present."
    ),
)
def message_media_keys(
    context: dg.AssetCheckExecutionContext, message_media: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        message_media,
        rules.message_media_blocking(window.start, window.end),
        time_column="sent_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["message_id", "media_id", "status"],
    )
