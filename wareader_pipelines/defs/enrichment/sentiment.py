"""message_sentiment: a sentiment score for every message that carries text."""

import sys

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_metadata import counts_by, partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.llm import prompts, sentiment_batches
from wareader_pipelines.llm.sentiment_batches import SentimentInput, merge_verdicts
from wareader_pipelines.nlp import sentiment
from wareader_pipelines.nlp.sentiment import offline_sentiment_frame, sentiment_candidates
from wareader_pipelines.resources.llm import LLMResource

_this = sys.modules[__name__]
# What shapes this stage's rows: a change to any of them marks its assets stale in the UI.
SHAPED_BY = (_this, sentiment, sentiment_batches, prompts, prompts.PROMPT_VERSION)


@dg.asset(
    key="message_sentiment",
    description=(
        "Sentiment of every text message (-1..1 and a label): VADER for English and an emoji "
        "lexicon for other languages offline, or the configured LLM in batches; "
        "`method` says which, and unscorable messages stay null."
    ),
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    group_name="enrichment",
    owners=["team:wareader"],
    kinds={"python", "pandas", "duckdb"},
    code_version=code_version(*SHAPED_BY),
    freshness_policy=NIGHTLY_FRESHNESS,
    pool="llm",
    metadata={
        "dagster/column_schema": tables.MESSAGE_SENTIMENT,
        "partition_expr": "sent_at",
        "order_by": ["sent_at", "message_id"],
    },
)
def message_sentiment(
    context: dg.AssetExecutionContext, cleaned_messages: pd.DataFrame, llm: LLMResource
) -> dg.Output:
    candidates = sentiment_candidates(cleaned_messages)
    frame = offline_sentiment_frame(candidates)
    run_totals: dict[str, object] = {}
    constants: dict[str, object] = {}
    if not llm.is_offline and llm.sentiment_with_llm and not candidates.empty:
        items = [
            SentimentInput(message_id, text if isinstance(text, str) else "")
            for message_id, text in zip(
                candidates["message_id"], candidates[llm.text_column], strict=True
            )
        ]
        run = llm.rate_sentiment(items)
        frame = merge_verdicts(frame, run.outcome, provider=llm.provider, model=llm.resolved_model)
        run_totals = {
            "api_calls": run.stats.api_calls,
            "cache_hits": run.stats.cache_hits,
            "retries": run.stats.retries,
            "input_tokens": run.stats.input_tokens,
            "output_tokens": run.stats.output_tokens,
            "cost_usd": llm.cost_of(run.stats.input_tokens, run.stats.output_tokens),
            "llm_failures": len(run.outcome.failures),
        }
        constants = {"text_sent": llm.text_column}
    return dg.Output(
        frame,
        metadata=partition_figures(
            context,
            frame,
            lambda rows: {
                "methods": counts_by(rows, "method"),
                "labels": counts_by(rows, "label"),
                "preview": preview(rows, ["sent_at", "language", "label", "score", "method"]),
            },
            constants=constants,
            run_totals=run_totals,
        ),
    )
