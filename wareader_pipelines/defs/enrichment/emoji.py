"""message_emoji: the emoji of every message, one per grapheme, skin tone apart."""

import sys
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_checks import validation_results
from wareader_pipelines.lib.asset_metadata import counts_by, partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.nlp import emoji_usage, text
from wareader_pipelines.nlp.emoji_usage import message_emoji_frame
from wareader_pipelines.quality import rules

MESSAGE_EMOJI_KEYS = "message_emoji_keys"
# What shapes this asset's rows: a change to any of them marks it stale in the UI.
SHAPED_BY = (sys.modules[__name__], emoji_usage, text)


@dg.asset(
    key="message_emoji",
    description=(
        "Each message's emoji as the reader sees them: a skin-tone, family, profession or "
        "flag sequence is one emoji, its skin tone a column of its own (feeds emoji_usage)."
    ),
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    group_name="enrichment",
    owners=["team:wareader"],
    kinds={"python", "pandas", "duckdb"},
    code_version=code_version(*SHAPED_BY),
    freshness_policy=NIGHTLY_FRESHNESS,
    metadata={
        "dagster/column_schema": tables.MESSAGE_EMOJI,
        "partition_expr": "sent_at",
        "order_by": ["sent_at", "message_id", "emoji"],
    },
)
def message_emoji(context: dg.AssetExecutionContext, cleaned_messages: pd.DataFrame) -> dg.Output:
    frame = message_emoji_frame(cleaned_messages)
    return dg.Output(
        frame,
        metadata=partition_figures(
            context,
            frame,
            lambda rows: {
                "emoji_occurrences": int(rows["occurrences"].sum()),
                "skin_tones": counts_by(rows, "skin_tone"),
                "preview": preview(rows, ["sent_at", "emoji", "emoji_name", "skin_tone"]),
            },
        ),
    )


@dg.asset_check(
    asset="message_emoji",
    name=MESSAGE_EMOJI_KEYS,
    blocking=True,
    partitions_def=daily_partitions,
    description="One row per message, emoji and tone; tones from the five modifiers; in the day.",
)
def message_emoji_keys(
    context: dg.AssetCheckExecutionContext, message_emoji: pd.DataFrame
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    window = context.partition_time_window
    yield from validation_results(
        context,
        message_emoji,
        rules.message_emoji_blocking(window.start, window.end),
        time_column="sent_at",
        severity=dg.AssetCheckSeverity.ERROR,
        example_columns=["message_id", "emoji"],
    )
