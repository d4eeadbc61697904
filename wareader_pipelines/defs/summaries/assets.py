"""conversation_summaries: one readable summary per conversation and day, with its cost."""

import json
import sys
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_kinds import LLM_ROLE, WAREHOUSE_ROLE
from wareader_pipelines.lib.asset_metadata import counts_by, partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.llm import chunking, extractive, prompts, summarize
from wareader_pipelines.llm import conversation_days as conversation_days_module
from wareader_pipelines.llm.conversation_days import conversation_days, summary_rows
from wareader_pipelines.llm.prompts import PROMPT_VERSION
from wareader_pipelines.resources.llm import LLMResource

_this = sys.modules[__name__]
# What shapes this stage's rows: a change to any of them marks its assets stale in the UI.
SHAPED_BY = (
    _this,
    conversation_days_module,
    summarize,
    extractive,
    chunking,
    prompts,
    prompts.PROMPT_VERSION,
)


NO_FAILED_SUMMARIES = "no_failed_summaries"
_FAILURES_SHOWN = 20


@dg.asset(
    key="conversation_summaries",
    description=(
        "One summary per conversation and UTC day (summary, topics, action items) in the "
        "conversation's language, with the provider, model, tokens and cost that produced it."
    ),
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    group_name="summaries",
    owners=["team:wareader"],
    # `llm` and `warehouse` become the configured provider and database at load (asset_kinds.py).
    kinds={"python", "pandas", LLM_ROLE, WAREHOUSE_ROLE},
    code_version=code_version(*SHAPED_BY),
    freshness_policy=NIGHTLY_FRESHNESS,
    pool="llm",
    metadata={
        "dagster/column_schema": tables.CONVERSATION_SUMMARIES,
        "partition_expr": "day_start",
        "order_by": ["day_start", "conversation_id"],
    },
    check_specs=[
        dg.AssetCheckSpec(
            NO_FAILED_SUMMARIES,
            asset="conversation_summaries",
            description="Every conversation-day got a summary; failed rows name their reason.",
        )
    ],
)
def conversation_summaries(
    context: dg.AssetExecutionContext, cleaned_messages: pd.DataFrame, llm: LLMResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    days = conversation_days(cleaned_messages, text_column=llm.text_column)
    run = llm.summarize([day for day, _ in days])
    frame = summary_rows(
        run.outcomes,
        [facts for _, facts in days],
        provider=llm.provider,
        model=llm.resolved_model,
        cost_of=llm.cost_of,
    )
    failed = frame.loc[frame["status"] == "failed"]
    yield dg.Output(
        frame,
        metadata=partition_figures(
            context,
            frame,
            lambda rows: {
                "conversation_days": len(rows),
                # What the rows cost to produce, cache hits included (null if a model has no price).
                "cost_usd_of_rows": (
                    None if rows["cost_usd"].isna().any() else float(rows["cost_usd"].sum())
                ),
                "failures": int((rows["status"] == "failed").sum()),
                "statuses": counts_by(rows, "status"),
                "example_summary": _example(rows),
                "preview": preview(rows, ["day", "conversation_id", "status", "summary", "topics"]),
            },
            constants={
                "provider": llm.provider,
                "model": llm.resolved_model,
                "prompt_version": PROMPT_VERSION,
                "text_sent": llm.text_column,
            },
            # What this run spent: calls made, tokens sent and received (cache hits cost none).
            run_totals={
                "api_calls": run.stats.api_calls,
                "cache_hits": run.stats.cache_hits,
                "retries": run.stats.retries,
                "repairs": run.stats.repairs,
                "input_tokens": run.stats.input_tokens,
                "output_tokens": run.stats.output_tokens,
                "cost_usd": llm.cost_of(run.stats.input_tokens, run.stats.output_tokens),
            },
        ),
    )
    yield dg.AssetCheckResult(
        check_name=NO_FAILED_SUMMARIES,
        passed=failed.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failed_rows": len(failed),
            "failures": dg.MetadataValue.md(
                failed[["day", "conversation_id", "failure_reason"]]
                .head(_FAILURES_SHOWN)
                .to_markdown(index=False)
                if not failed.empty
                else "_none_"
            ),
        },
    )


def _example(frame: pd.DataFrame) -> dg.MetadataValue:
    """The first successful summary as Markdown, so the UI shows what the table holds."""
    ok = frame.loc[frame["status"] == "ok"]
    if ok.empty:
        return dg.MetadataValue.md("_no summary in this partition_")
    row = ok.iloc[0]
    return dg.MetadataValue.md(
        f"**{row['conversation_id']}**, {row['day']} ({row['summary_language']}, "
        f"{row['message_count']} messages)\n\n{row['summary']}\n\n"
        f"**Topics:** {', '.join(json.loads(row['topics']))}\n\n"
        f"**Action items:** {'; '.join(json.loads(row['action_items'])) or 'none'}"
    )
