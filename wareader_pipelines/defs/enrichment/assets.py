"""Enrichment: raw messages made analyst-ready: language, clean text, masked PII, counts."""

import sys

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
    context: dg.AssetExecutionContext, raw_messages: pd.DataFrame, settings: PipelineSettings
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
