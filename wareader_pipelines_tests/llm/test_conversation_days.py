"""Conversation-days from cleaned rows: one per (UTC day, conversation), rows in time order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from wareader_pipelines.llm.conversation_days import conversation_days


def _cleaned(rows: list[tuple[str, str | None, str | None, str, str | None]]) -> pd.DataFrame:
    """(sent_at, conversation_id, sender_id, text, language) rows as cleaned_messages rows."""
    return pd.DataFrame(
        {
            "message_id": [f"m{i}" for i in range(len(rows))],
            "conversation_id": [row[1] for row in rows],
            "sender_id": [row[2] for row in rows],
            "sent_at": pd.to_datetime([row[0] for row in rows], utc=True),
            "message_type": "text",
            "is_system": False,
            "is_media": False,
            "language": [row[4] for row in rows],
            "text_redacted": [row[3] for row in rows],
        }
    )


def test_days_are_split_by_day_and_conversation_in_order_and_rows_without_one_left_out() -> None:
    cleaned = _cleaned(
        [
            ("2024-05-02T09:00:00Z", "b", "u1", "tomorrow then", "en"),
            ("2024-05-01T10:00:00Z", "a", "u1", "hola", "es"),
            ("2024-05-01T09:00:00Z", "a", "u2", "hi", "en"),
            ("2024-05-01T11:00:00Z", None, "u1", "no conversation", "en"),
            ("2024-05-01T12:00:00Z", "b", None, "   ", None),
            ("2024-05-01T12:30:00Z", "b", "u3", "bonjour", "fr"),
            ("2024-05-01T13:00:00Z", "a", "u2", "¿y?", "es"),
        ]
    )
    days = conversation_days(cleaned, text_column="text_redacted")
    assert [(day.day, day.conversation_id) for day, _ in days] == [
        (date(2024, 5, 1), "a"),
        (date(2024, 5, 1), "b"),
        (date(2024, 5, 2), "b"),
    ]
    first, facts = days[0]
    assert [(line.speaker, line.text) for line in first.lines] == [
        ("A", "hi"),
        ("B", "hola"),
        ("A", "¿y?"),
    ]
    assert facts.message_count == 3 and facts.participant_count == 2
    assert facts.languages == ["es", "en"]
    assert facts.first_message_at == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert facts.last_message_at == datetime(2024, 5, 1, 13, tzinfo=UTC)
    # The blank message counts but says nothing; its sender has no pseudonym.
    second, second_facts = days[1]
    assert [line.text for line in second.lines] == ["bonjour"]
    assert second_facts.message_count == 2 and second_facts.languages == ["fr"]
