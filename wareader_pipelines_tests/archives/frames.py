"""Small raw_messages and conversation_summaries frames, and export zips, for archive tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines_tests.zips import zip_of

PHONE_TEXT = "call me on +34 612 34 56 78 tomorrow"


def raw_messages(conversation_id: str = "conv-1", *, extra: str = "") -> pd.DataFrame:
    """Four messages of one conversation in May 2024, with a phone number, media and a system line."""
    rows = [
        {
            "message_id": "m1",
            "conversation_id": conversation_id,
            "source": "export",
            "sender_wa_id": "34612345678",
            "sender_name": "+34 612 34 56 78",
            "sent_at": datetime(2024, 5, 13, 7, 15, tzinfo=UTC),
            "message_type": "text",
            "text": "Hola!\nsecond line" + extra,
            "is_system": False,
            "is_edited": False,
            "conversation_name": "Family",
            "export_timezone": "Europe/Madrid",
        },
        {
            "message_id": "m2",
            "conversation_id": conversation_id,
            "source": "export",
            "sender_wa_id": None,
            "sender_name": "Ben",
            "sent_at": datetime(2024, 5, 13, 7, 16, tzinfo=UTC),
            "message_type": "image",
            "text": "look",
            "media_filename": "IMG-20240513-WA0001.jpg",
            "is_system": False,
            "is_edited": False,
            "conversation_name": "Family",
            "export_timezone": "Europe/Madrid",
        },
        {
            "message_id": "m3",
            "conversation_id": conversation_id,
            "source": "export",
            "sender_name": "Ben",
            "sent_at": datetime(2024, 5, 20, 18, 0, tzinfo=UTC),
            "message_type": "text",
            "text": PHONE_TEXT,
            "is_system": False,
            "is_edited": True,
            "conversation_name": "Family",
            "export_timezone": "Europe/Madrid",
        },
        {
            "message_id": "m0",
            "conversation_id": conversation_id,
            "source": "export",
            "sent_at": datetime(2024, 5, 1, 0, 0, tzinfo=UTC),
            "message_type": "system",
            "text": "Messages are end-to-end encrypted.",
            "is_system": True,
            "is_edited": False,
            "conversation_name": "Family",
            "export_timezone": "Europe/Madrid",
        },
    ]
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[c.name for c in tables.RAW_MESSAGES.columns])


def summaries(conversation_id: str = "conv-1") -> pd.DataFrame:
    """Two day summaries (the columns DESIGN.md names, plus day and day_start)."""
    return pd.DataFrame(
        [
            {
                "conversation_id": conversation_id,
                "day": "2024-05-20",
                "day_start": datetime(2024, 5, 20, tzinfo=UTC),
                "summary": "Ben asks to be called at +34 612 34 56 78.",
                "topics": '["calls"]',
                "action_items": '["Call Ben"]',
                "message_count": 1,
                "provider": "extractive",
                "model": "extractive-1",
                "prompt_version": "v1",
            },
            {
                "conversation_id": conversation_id,
                "day": "2024-05-13",
                "day_start": datetime(2024, 5, 13, tzinfo=UTC),
                "summary": "Greetings and a photo.",
                "topics": '["greetings", "photos"]',
                "action_items": "[]",
                "message_count": 2,
                "provider": "extractive",
                "model": "extractive-1",
                "prompt_version": "v1",
            },
        ]
    )


def export_zip(members: dict[str, bytes]) -> bytes:
    """A chat-export zip: a `_chat.txt` and `members` under their names exactly as given."""
    return zip_of({"_chat.txt": b"chat", **members})
