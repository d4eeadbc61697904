"""A small hand-made warehouse (cleaned_messages, raw_messages, message_sentiment) for dbt tests."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.nlp.emoji_usage import message_emoji_frame
from wareader_pipelines.resources.warehouse import backend_for, conform_to_schema
from wareader_pipelines.resources.warehouse_backend import TimeWindowFilter

DAY1 = datetime(2024, 5, 13, tzinfo=UTC)

# (conversation, sender, minutes after DAY1 00:00, type, language, sentiment score or None)
MESSAGES = [
    ("c1", "s1", 10, "text", "en", 0.5),
    ("c1", "s2", 12, "text", "en", -0.5),  # reply after 120 s
    ("c1", "s2", 13, "image", None, None),  # same sender: not a reply
    ("c1", "s1", 20, "text", "pt", 0.0),  # reply after 420 s
    ("c1", None, 21, "system", None, None),  # system line: no part in replies or counts
    ("c1", "s1", 23 * 60 + 50, "text", "en", 1.0),
    ("c1", "s2", 24 * 60 + 5, "text", "es", 0.25),  # day 2, reply across midnight: 900 s
    ("c1", "s3", 24 * 60 + 65, "audio", None, None),  # reply 3600 s
    ("c2", "s4", 30, "text", "de", -1.0),
    ("c2", "s4", 31, "text", "de", -0.5),
    ("c2", "s5", 2 * 24 * 60 + 30, "text", "de", 0.5),  # day 3, 2 days later: a new session
    ("c2", "s4", 12 * 24 * 60, "text", "de", None),  # 10 days later: a new session
]
# Texts with emoji (message number -> text_clean); others have none.
TEXTS = {
    0: "hi 👍🏽👍🏽",
    1: "👍🏿 ok 👨‍👩‍👧‍👦",
    3: "🇧🇷 ❤ ❤️",
    8: "1️⃣ 👩🏽‍💻",
}
# c2 is an export read in São Paulo time; c1's webhooks take the business zone (UTC).
EXPORT_TIMEZONE = "America/Sao_Paulo"


def frames() -> dict[str, tuple[dg.TableSchema, pd.DataFrame]]:
    rows = []
    for number, (conversation, sender, minutes, kind, language, score) in enumerate(MESSAGES):
        rows.append(
            {
                "message_id": f"m{number:02d}",
                "conversation_id": conversation,
                "sender_id": sender,
                "sent_at": DAY1 + timedelta(minutes=minutes),
                "message_type": kind,
                "language": language,
                "is_media": kind in {"image", "audio"},
                "is_system": kind == "system",
                "score": score,
                "source": "export" if conversation == "c2" else "webhook",
            }
        )
    messages = pd.DataFrame(rows)
    texts = [TEXTS.get(number, "plain words") for number in range(len(MESSAGES))]
    cleaned = messages.drop(columns=["score", "source"]).assign(
        word_count=3,
        text_clean=texts,
        emoji_count=[sum(ord(c) > 0x2000 for c in text) for text in texts],
    )
    raw = messages[["message_id", "conversation_id", "sent_at", "message_type", "source"]].assign(
        export_timezone=[EXPORT_TIMEZONE if s == "export" else None for s in messages.source]
    )
    scored = messages[messages.score.notna()]
    sentiment = pd.DataFrame(
        {
            "message_id": scored.message_id,
            "conversation_id": scored.conversation_id,
            "sent_at": scored.sent_at,
            "language": scored.language,
            "label": [
                "positive" if s > 0.05 else "negative" if s < -0.05 else "neutral"
                for s in scored.score
            ],
            "score": scored.score,
            "method": "vader",
            "model": "vader-3.3.2",
            "provider": "offline",
        }
    )
    return {
        "cleaned_messages": (tables.CLEANED_MESSAGES, cleaned),
        "raw_messages": (tables.RAW_MESSAGES, raw),
        "message_sentiment": (tables.MESSAGE_SENTIMENT, sentiment),
        # no business messaging here (see business_sample.py): the business marts build empty
        "message_statuses": (
            tables.MESSAGE_STATUSES,
            pd.DataFrame({c.name: [] for c in tables.MESSAGE_STATUSES.columns}),
        ),
        "message_emoji": (tables.MESSAGE_EMOJI, message_emoji_frame(cleaned)),
    }


def write_sample(url: str) -> None:
    """Write the sample tables into the warehouse at `url`, schema `wareader`."""
    backend = backend_for(url, "wareader")
    for table, (schema, frame) in frames().items():
        backend.replace_rows(table, schema, conform_to_schema(frame, schema, table), None)


def rewrite_day(url: str, day: datetime, frame: pd.DataFrame) -> None:
    """Replace one day of cleaned_messages, as a re-run partition would."""
    backend_for(url, "wareader").replace_rows(
        "cleaned_messages",
        tables.CLEANED_MESSAGES,
        conform_to_schema(frame, tables.CLEANED_MESSAGES, "cleaned_messages"),
        TimeWindowFilter("sent_at", day, day + timedelta(days=1)),
    )
