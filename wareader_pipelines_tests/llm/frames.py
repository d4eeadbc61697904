"""Hand-built cleaned_messages frames and a stand-in upstream asset for the LLM tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.partitions import daily_partitions
from wareader_pipelines.nlp.pii import redact
from wareader_pipelines.resources.warehouse_backend import columns_of

DAY = "2024-05-01"
# Phone numbers of the shipped sample (its wa_ids), written as people type them.
SAMPLE_PHONES = {
    "5511987654321": "+55 11 98765-4321",
    "34612345678": "+34 612 345 678",
    "14155550123": "+1 415-555-0123",
}


def message(
    conversation: str,
    sender: str,
    minute: int,
    text: str | None,
    language: str | None = "en",
    *,
    message_type: str = "text",
    is_system: bool = False,
    is_media: bool = False,
    hour: int = 9,
) -> dict[str, Any]:
    """One cleaned_messages row on DAY; text_redacted is computed by the real redactor."""
    sent_at = datetime(2024, 5, 1, hour + minute // 60, minute % 60, tzinfo=UTC)
    return {
        "message_id": f"wamid.{conversation}.{hour}.{minute}.{sender}",
        "conversation_id": conversation,
        "sender_id": sender,
        "sent_at": sent_at,
        "message_type": message_type,
        "text_clean": text,
        "text_redacted": redact(text) if text else text,
        "language": language,
        "language_confidence": 0.9 if language else None,
        "language_method": "detected" if language else "undetermined",
        "is_media": is_media,
        "is_system": is_system,
        "is_edited": False,
        "reply_to_id": None,
        "word_count": len(text.split()) if text else 0,
        "emoji_count": 0,
        "url_count": 0,
        "char_count": len(text) if text else 0,
    }


def cleaned_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with exactly the cleaned_messages columns."""
    return pd.DataFrame(rows, columns=columns_of(tables.CLEANED_MESSAGES))


def sample_day() -> pd.DataFrame:
    """Three conversations in English, Spanish and German, as in the shipped sample."""
    return cleaned_frame(
        [
            message(
                "conv-en",
                "cust-1",
                0,
                "Hi! I ordered a blender (order #A-1042) last week and "
                "it still hasn't shipped. Can you check?",
            ),
            message(
                "conv-en",
                "biz",
                5,
                "Sorry about that! The blender ships today, tracking follows by e-mail.",
            ),
            message(
                "conv-en",
                "cust-1",
                7,
                f"Great, thanks. Call me on {SAMPLE_PHONES['5511987654321']} "
                "if the blender is delayed again.",
            ),
            message("conv-en", "biz", 8, None, None, message_type="image", is_media=True),
            message("conv-es", "cust-2", 10, "Hola, ¿tienen la batidora en color rojo?", "es"),
            message(
                "conv-es",
                "biz",
                12,
                "¡Hola María! Sí, la batidora roja llega la próxima semana.",
                "es",
            ),
            message(
                "conv-es",
                "cust-2",
                13,
                f"Perfecto, mi número es {SAMPLE_PHONES['34612345678']} 😍",
                "es",
            ),
            message(
                "conv-de",
                "cust-3",
                20,
                "Hallo, ich habe eine Frage zu meiner Rechnung vom April.",
                "de",
            ),
            message(
                "conv-de", "biz", 22, f"Rufen Sie uns an: {SAMPLE_PHONES['14155550123']}", "de"
            ),
            message(
                "conv-de",
                "system",
                23,
                "João Silva changed from 5511987654321 to 5511976543210",
                None,
                message_type="system",
                is_system=True,
            ),
        ]
    )


def upstream(frame: pd.DataFrame) -> dg.AssetsDefinition:
    """A stand-in for the real cleaned_messages asset that returns `frame`."""

    @dg.asset(
        key="cleaned_messages",
        partitions_def=daily_partitions,
        metadata={
            "dagster/column_schema": tables.CLEANED_MESSAGES,
            "partition_expr": "sent_at",
            "order_by": ["sent_at", "message_id"],
        },
    )
    def cleaned_messages() -> pd.DataFrame:
        return frame

    return cleaned_messages
