"""Issue 9 §1: no personal data in any analyst table built from a generated 100k-message zone.

The zone (`generated_pii_zone.py`) writes phone numbers in six regions' national and
international forms, e-mail addresses, and sentences that address the chat's participants
by name. It goes through the real definitions on DuckDB: one ranged run of every daily asset
(ingestion, cleaning, sentiment, emoji, summaries, media, the incremental marts), then the
whole-table marts, then the analysts' copy (`wareader snapshot`). The raw layer must hold
the personal data (so the scan could fail); the privacy scan (`pii_scan.py`:
libphonenumber's matcher in every region the deployment's languages imply, an e-mail
pattern, the WhatsApp ids, and the names of every participant of every chat) then finds
none in any text column of any table of the analysts' copy, and order numbers stay.

One ranged run, checks skipped, in-memory instance (`pipeline_runs.py`), to stay affordable
in CI; the sample-wide scan in `cli/test_sample_pipeline.py` covers the whole pipeline's
runs as `wareader demo` makes them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from wareader_pipelines.lib.tables import ANALYST_TABLES
from wareader_pipelines.nlp.pii import phone_regions
from wareader_pipelines.resources.duckdb_read_copy import publish_read_copy
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import backend_for
from wareader_pipelines_tests.generated_pii_zone import LANGUAGES, generate_zone
from wareader_pipelines_tests.pii_scan import analyst_copy_tables, name_words, scan
from wareader_pipelines_tests.pipeline_runs import Pipeline

MESSAGES = 100_000


def _everyone(raw: pd.DataFrame) -> set[str]:
    """The name words of every participant of every chat, as the raw layer knows them."""
    listed = [n for names in raw["participant_names"].dropna().unique() for n in json.loads(names)]
    return name_words([*raw["sender_name"].dropna().unique(), *listed])


@pytest.mark.heavy
def test_no_phone_email_id_or_name_in_any_analyst_table_of_a_100k_message_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    zone = generate_zone(data / "landing", messages=MESSAGES, seed=9)
    assert min(zone.features[k] for k in ("phone", "email", "name")) > MESSAGES // 200
    monkeypatch.setenv("WAREADER_LANGUAGES", ",".join(LANGUAGES))
    warehouse = data / "warehouse.duckdb"
    pipeline = Pipeline(monkeypatch, data, str(warehouse))
    first, last = zone.start.date(), (zone.end - timedelta(days=1)).date()
    assert (last - first).days < 92  # one ranged run, as a backfill's policy makes it
    pipeline.run(pipeline.every_daily, first, last)
    pipeline.run(pipeline.whole_table_marts)

    raw = backend_for(str(warehouse), "wareader").query(
        "SELECT conversation_id, text, sender_name, sender_wa_id, participant_names "
        "FROM wareader.raw_messages"
    )
    assert len(raw) == zone.messages == MESSAGES
    settings = PipelineSettings(pseudonym_key="k", cache_dir=".", languages=list(LANGUAGES))
    regions = phone_regions(settings.languages, extra=[settings.phone_region])
    people = _everyone(raw)
    assert people >= {"lucía", "olivia", "giulia"}
    wa_ids = set(raw["sender_wa_id"].dropna())
    # The scan can fail: on the raw text it finds the phones, e-mails and names written.
    raw_hits = scan({"raw_messages": raw[["text"]].iloc[:5_000]}, regions, people, wa_ids)
    for kind in ("phone", "e-mail", "name"):
        assert sum(f": {kind} " in hit for hit in raw_hits) > 10, kind

    copy = publish_read_copy(warehouse, data / "analytics.duckdb")
    tables = analyst_copy_tables(copy)
    # every analyst table of the pipeline, summaries included, and the marts of the zone
    assert {f"wareader.{t}" for t in ANALYST_TABLES} <= set(tables)
    for built in ("fct_messages", "daily_conversation_metrics", "sentiment_by_week", "fct_replies"):
        assert len(tables[f"marts.{built}"]) > 0, built
    summaries = tables["wareader.conversation_summaries"]
    assert (summaries["summary"].str.len() > 0).sum() > 1_000
    text = tables["wareader.cleaned_messages"]["text_clean"]
    for mask in ("[PHONE]", "[EMAIL]", "[NAME]"):
        assert text.str.contains(mask, regex=False).sum() > MESSAGES // 200, mask
    assert text.str.contains("Rechnung Nr. ", regex=False).any()
    assert not text.str.contains("Rechnung Nr. [PHONE]", regex=False).any()
    assert scan(tables, regions, people, wa_ids) == []
