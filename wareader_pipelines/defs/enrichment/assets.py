"""Enrichment: raw messages made analyst-ready: language, clean text, masked PII, counts."""

import json
import sys
from datetime import datetime

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.asset_metadata import counts_by, partition_figures, preview
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.nlp import cleaning, language, pii, pseudonyms, text
from wareader_pipelines.nlp.cleaning import CleaningWorkers, clean_messages
from wareader_pipelines.nlp.language import language_detector
from wareader_pipelines.nlp.pii import phone_regions
from wareader_pipelines.nlp.text import Tokenizers
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse

_this = sys.modules[__name__]
# What shapes this stage's rows: a change to any of them marks its assets stale in the UI.
SHAPED_BY = (_this, cleaning, language, text, pii, pseudonyms)


@dg.asset(
    description=(
        "One row per message for analysts: sender pseudonym instead of phone number, "
        "language with confidence, text with phone numbers, e-mails and participants' names "
        "masked, word and emoji counts."
    ),
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    group_name="enrichment",
    owners=["team:wareader"],
    kinds={"python", "pandas", "spacy", "duckdb"},
    code_version=code_version(*SHAPED_BY),
    freshness_policy=NIGHTLY_FRESHNESS,
    metadata={
        "dagster/column_schema": tables.CLEANED_MESSAGES,
        "partition_expr": "sent_at",
        "order_by": ["sent_at", "message_id"],
    },
)
def cleaned_messages(
    context: dg.AssetExecutionContext,
    raw_messages: pd.DataFrame,
    settings: PipelineSettings,
    warehouse: Warehouse,
) -> dg.Output:
    expected = tuple(settings.expected_languages()) or None
    detector = language_detector(settings.language_detector, expected)
    cleaned = clean_messages(
        raw_messages,
        pseudonyms=settings.pseudonyms(),
        detector=detector,
        tokenizers=Tokenizers(),
        default_region=settings.phone_region,
        phone_regions=phone_regions(settings.languages, extra=[settings.phone_region]),
        workers=CleaningWorkers(settings.worker_processes(), settings.language_detector, expected),
        earlier_names=names_before(warehouse, context.partition_time_window.start),
    )
    return dg.Output(
        cleaned,
        metadata=partition_figures(
            context,
            cleaned,
            lambda rows: {
                "languages": counts_by(rows, "language"),
                "language_methods": counts_by(rows, "language_method"),
                "preview": preview(rows, ["sent_at", "language", "word_count", "text_redacted"]),
            },
            constants={"language_detector": detector.name},
        ),
    )


def names_before(warehouse: Warehouse, start: datetime) -> list[str]:
    """Every display name raw_messages holds for messages before `start`: senders', webhook
    customers' profile names and the participant lists (JSON arrays), all chats."""
    if not warehouse.table_exists("raw_messages"):
        return []
    found = warehouse.query(
        "SELECT DISTINCT 'name' AS kind, sender_name AS value FROM {schema}.raw_messages "
        "WHERE sent_at < ? AND sender_name IS NOT NULL "
        "UNION SELECT DISTINCT 'name', conversation_name FROM {schema}.raw_messages "
        "WHERE sent_at < ? AND source = 'webhook' AND conversation_name IS NOT NULL "
        "UNION SELECT DISTINCT 'list', participant_names FROM {schema}.raw_messages "
        "WHERE sent_at < ? AND participant_names IS NOT NULL",
        [start, start, start],
    )
    names: set[str] = set()
    for kind, value in zip(found["kind"].tolist(), found["value"].tolist(), strict=True):
        if kind == "list":
            names.update(n for n in json.loads(value) if isinstance(n, str))
        else:
            names.add(value)
    return sorted(names)
