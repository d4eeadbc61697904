"""Issue 9 §1: no personal data in the analyst text of a generated 100k-message landing zone.

The zone (`generated_pii_zone.py`) writes phone numbers in six regions' national and
international forms, e-mail addresses, and sentences that address the chat's participants
by name. The raw layer must hold them (so the scan could fail); after ingestion and cleaning
the privacy scan (`pii_scan.py`: libphonenumber's matcher in every region the deployment's
languages imply, an e-mail pattern, the participants' names, the WhatsApp ids) finds none
in the text columns of `cleaned_messages`, and order numbers stay.

Ingestion and cleaning only, to stay affordable in CI: `cleaned_messages` carries the only
free text of the analyst layer (sentiment and the dbt marts have no text column; summaries
are built from its `text_redacted`), and the sample-wide scan in
`cli/test_sample_pipeline.py` covers every analyst table after the whole pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from wareader_pipelines.landing.window import read_landing_window
from wareader_pipelines.nlp.cleaning import clean_messages
from wareader_pipelines.nlp.language import language_detector
from wareader_pipelines.nlp.pii import phone_regions
from wareader_pipelines.nlp.text import Tokenizers
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines_tests.generated_pii_zone import LANGUAGES, generate_zone
from wareader_pipelines_tests.pii_scan import name_words, scan

MESSAGES = 100_000


def _participants(raw: pd.DataFrame) -> dict[str, set[str]]:
    """Every conversation's participants' name words, as the raw layer knows them."""
    people: dict[str, set[str]] = {}
    for conversation, group in raw.groupby("conversation_id"):
        names = set(group["sender_name"].dropna())
        for listed in group["participant_names"].dropna().unique():
            names |= set(json.loads(listed))
        people[str(conversation)] = name_words(names)
    return people


def test_no_phone_email_id_or_name_in_the_text_of_a_100k_message_zone(tmp_path: Path) -> None:
    zone = generate_zone(tmp_path / "landing", messages=MESSAGES, seed=9)
    assert min(zone.features[k] for k in ("phone", "email", "name")) > MESSAGES // 200
    settings = PipelineSettings(
        pseudonym_key="scan-key", cache_dir=str(tmp_path / "cache"), languages=list(LANGUAGES)
    )
    window = read_landing_window(
        LandingZone(uri=str(zone.root)), zone.start, zone.end, settings=settings
    )
    raw = window.raw_messages
    assert len(raw) == zone.messages == MESSAGES
    regions = phone_regions(settings.languages, extra=[settings.phone_region])
    people = _participants(raw)
    wa_ids = set(raw["sender_wa_id"].dropna())
    # The scan can fail: on the raw text it finds the phones, e-mails and names written.
    raw_text = raw[["conversation_id", "text"]].iloc[:5_000]
    raw_hits = scan({"raw_messages": raw_text}, regions, people, wa_ids)
    for kind in ("phone", "e-mail", "name"):
        assert sum(f": {kind} " in hit for hit in raw_hits) > 10, kind

    cleaned = clean_messages(
        raw,
        pseudonyms=settings.pseudonyms(),
        detector=language_detector(settings.language_detector, settings.languages),
        tokenizers=Tokenizers(),
        default_region=settings.phone_region,
        phone_regions=regions,
    )
    text = cleaned[["conversation_id", "sender_id", "text_clean", "text_redacted"]]
    for mask in ("[PHONE]", "[EMAIL]", "[NAME]"):
        assert text["text_clean"].str.contains(mask, regex=False).sum() > MESSAGES // 200, mask
    assert text["text_clean"].str.contains("Rechnung Nr. ", regex=False).any()
    assert not text["text_clean"].str.contains("Rechnung Nr. [PHONE]", regex=False).any()
    assert scan({"cleaned_messages": text}, regions, people, wa_ids) == []
