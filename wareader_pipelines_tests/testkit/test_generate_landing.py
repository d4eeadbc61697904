"""The landing-zone generator: deterministic, and read back by the real parsers as it says."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from wareader_pipelines.landing.layout import parse_webhook_key
from wareader_pipelines.landing.window import IngestedWindow, read_landing_window
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.chat_export import parse_export
from wareader_pipelines.parsing.records import MessageRecord, frame_of
from wareader_pipelines.parsing.webhook_payload import parse_webhook_body
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_testkit.chat_locales import EMOJI_FLAGS, EMOJI_SKIN_TONE, EMOJI_ZWJ, LANGUAGES
from wareader_testkit.generate_landing import FORMATS, GeneratedLanding, generate_landing

MESSAGES = 2_000
SEED = 11
PSEUDONYMS = Pseudonymizer("generator-test-key")
LANDED_AT = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLanding:
    return generate_landing(
        tmp_path_factory.mktemp("generated") / "landing", messages=MESSAGES, seed=SEED
    )


@pytest.fixture(scope="module")
def export_frame(generated: GeneratedLanding) -> pd.DataFrame:
    """Every export parsed on its own, with the date order the parser decided per file."""
    messages: list[MessageRecord] = []
    date_orders: dict[str, str] = {}
    for key in generated.export_layouts:
        result = parse_export(
            key, (generated.root / key).read_bytes(), pseudonyms=PSEUDONYMS, landed_at=LANDED_AT
        )
        assert result.quarantine == [], f"{key}: {result.quarantine[:3]}"
        messages.extend(result.messages)
        date_orders[key] = result.date_order
    frame = frame_of(messages, MessageRecord)
    frame["date_order"] = frame["source_file"].map(date_orders)
    return frame


@pytest.fixture(scope="module")
def window(generated: GeneratedLanding, tmp_path_factory: pytest.TempPathFactory) -> IngestedWindow:
    settings = PipelineSettings(
        pseudonym_key="generator-test-key", cache_dir=str(tmp_path_factory.mktemp("cache"))
    )
    zone = LandingZone(uri=str(generated.root))
    return read_landing_window(zone, generated.start, generated.end, settings=settings)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    generated: GeneratedLanding, tmp_path: Path
) -> None:
    again = generate_landing(tmp_path / "again", messages=MESSAGES, seed=SEED)
    other = generate_landing(tmp_path / "other", messages=MESSAGES, seed=SEED + 1)
    assert _tree(again.root) == _tree(generated.root)
    assert again.summary() | {"root": ""} == generated.summary() | {"root": ""}
    assert _tree(other.root) != _tree(generated.root)
    assert other.messages == MESSAGES


def test_it_writes_the_number_of_messages_asked_for(generated: GeneratedLanding) -> None:
    assert generated.messages == MESSAGES
    assert generated.webhook_messages == round(MESSAGES * 0.3)
    assert sum(generated.formats.values()) == generated.export_messages
    assert sum(generated.languages.values()) == MESSAGES


def test_exports_parse_back_to_what_was_written(
    generated: GeneratedLanding, export_frame: pd.DataFrame
) -> None:
    assert len(export_frame) == generated.export_messages
    assert export_frame["message_id"].is_unique
    assert export_frame["is_system"].sum() == generated.features["system"]
    assert export_frame["is_edited"].sum() == generated.features["edited"]
    assert (export_frame["message_type"] == "deleted").sum() == generated.features["deleted"]
    sent = pd.to_datetime(export_frame["sent_at"], utc=True)
    assert sent.min() >= pd.Timestamp(generated.start)
    assert sent.max() < pd.Timestamp(generated.end)
    # The parser decides each file's date order from its dates alone: it must be the layout's.
    decided = export_frame.groupby("source_file")["date_order"].first().to_dict()
    expected = {key: FORMATS[name].date_order for key, name in generated.export_layouts.items()}
    assert decided == expected


def test_webhook_bodies_parse_back_to_what_was_written(generated: GeneratedLanding) -> None:
    copies: Counter[str] = Counter()
    statuses: Counter[tuple[str, str]] = Counter()
    quarantined = 0
    bodies = sorted((generated.root / "webhooks").rglob("*.json"))
    for path in bodies:
        key = path.relative_to(generated.root).as_posix()
        parsed_key = parse_webhook_key(key)
        assert parsed_key is not None, key
        result = parse_webhook_body(
            path.read_bytes(),
            source_file=key,
            landed_at=parsed_key.received_at,
            pseudonyms=PSEUDONYMS,
        )
        copies.update(m.message_id for m in result.messages)
        statuses.update((s.message_id, s.status) for s in result.statuses)
        quarantined += len(result.quarantine)
        for message in result.messages:  # never received before it was sent
            assert message.sent_at <= parsed_key.received_at
    assert len(bodies) == generated.webhook_bodies
    assert len(copies) == generated.webhook_messages
    assert copies.total() - len(copies) == generated.duplicate_messages > 0
    assert len(statuses) == generated.statuses
    assert statuses.total() - len(statuses) == generated.duplicate_statuses
    assert quarantined == generated.malformed_bodies >= 1


def test_ingestion_keeps_every_message_once(
    generated: GeneratedLanding, window: IngestedWindow
) -> None:
    raw = window.raw_messages
    assert len(raw) == generated.messages
    assert raw["message_id"].is_unique
    assert window.stats.duplicate_messages == generated.duplicate_messages
    assert len(window.message_statuses) == generated.statuses
    assert len(window.quarantine) == generated.malformed_bodies
    assert raw["source"].value_counts().to_dict() == {
        "export": generated.export_messages,
        "webhook": generated.webhook_messages,
    }


def test_it_covers_the_advertised_features(
    generated: GeneratedLanding, export_frame: pd.DataFrame, window: IngestedWindow
) -> None:
    raw = window.raw_messages
    texts = raw["text"].dropna()
    features = generated.features

    assert set(generated.languages) == set(LANGUAGES)
    assert set(generated.formats) == set(FORMATS)
    assert any(key.endswith(".zip") for key in generated.export_layouts)
    assert features["group_chats"] > 0 and features["user_id_customers"] > 0
    assert generated.late_bodies > 0 and generated.duplicate_bodies > 0

    # Business traffic: echoes, both pricing models, templates, refusals, stop words.
    webhook_rows = raw[raw["source"] == "webhook"]
    assert set(webhook_rows["direction"]) == {"inbound", "outbound"}
    assert (webhook_rows["direction"] == "outbound").sum() == features["echoes"] > 0
    statuses = window.message_statuses
    assert set(statuses["pricing_model"].dropna()) == {"CBP", "PMP"}
    assert {"service", "marketing"} <= set(statuses["pricing_category"].dropna())
    assert statuses["conversation_origin"].notna().any()
    assert set(statuses["recipient_country"].dropna()) >= {"ES", "DE"}
    assert features["templates"] > 0 and features["failed_131047"] > 0
    assert features["stop_words"] > 0 and features["read_before_delivered"] > 0
    assert set(window.api_errors["code"]) >= {131047}

    # Media as placeholders (`<Media omitted>`, "image omitted") and as files beside the chat.
    export_types = set(export_frame["message_type"])
    assert {"text", "system", "deleted", "media", "image", "audio"} <= export_types
    assert export_frame["media_sha256"].notna().any()  # a zipped file matched its marker
    assert {"image", "reaction", "audio"} <= set(
        raw.loc[raw["source"] == "webhook", "message_type"]
    )

    # Multi-line bodies keep their newlines; short replies dominate as in real chats.
    assert texts.str.contains("\n").sum() == features["multiline"] > 0
    short = texts.str.len() <= 8
    assert short.mean() > 0.25
    assert texts.isin(["ok", "jaja", "kkkk", "merci", "danke"]).any()

    joined = "\n".join(texts)
    assert any(e in joined for e in EMOJI_SKIN_TONE)
    assert any(e in joined for e in EMOJI_ZWJ)
    assert any(e in joined for e in EMOJI_FLAGS)
    assert features["pii_phone"] and features["pii_email"] and features["pii_url"]
    assert texts.str.contains(r"\+\d{1,2} \d", regex=True).any()
    assert texts.str.contains("@example", regex=False).any()
    assert texts.str.contains(r"https?://|www\.", regex=True).any()
    # Senders that are unsaved contacts show as phone numbers and get their digits read.
    exported = raw[raw["source"] == "export"]
    assert exported["sender_wa_id"].notna().any()
