"""Landing-zone keys: what the receiver writes is what sensors and ingestion read back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from wareader_pipelines.landing.layout import (
    is_export_key,
    parse_webhook_key,
    webhook_day_prefix,
    webhook_key,
)


def test_a_webhook_key_round_trips() -> None:
    received = datetime(2024, 5, 13, 23, 59, 59, 999999, tzinfo=UTC)
    key = webhook_key(b'{"object": "whatsapp_business_account"}', received)
    parsed = parse_webhook_key(key)
    assert parsed is not None
    assert parsed.day == date(2024, 5, 13)
    assert parsed.received_at == received
    assert key.startswith(webhook_day_prefix(date(2024, 5, 13)))


def test_keys_use_the_utc_day_and_sort_by_arrival() -> None:
    local = timezone(timedelta(hours=-5))
    late_evening = datetime(2024, 5, 13, 22, 0, tzinfo=local)  # 03:00 UTC on the 14th
    assert webhook_key(b"x", late_evening).startswith("webhooks/dt=2024-05-14/")
    earlier = webhook_key(b"b", datetime(2024, 5, 14, 1, tzinfo=UTC))
    later = webhook_key(b"a", datetime(2024, 5, 14, 2, tzinfo=UTC))
    assert earlier < later


def test_the_same_body_has_the_same_hash_in_its_key() -> None:
    first = parse_webhook_key(webhook_key(b"body", datetime(2024, 5, 1, tzinfo=UTC)))
    second = parse_webhook_key(webhook_key(b"body", datetime(2024, 5, 1, 1, tzinfo=UTC)))
    assert first and second and first.sha256 == second.sha256


def test_other_keys_are_not_webhook_bodies_or_exports() -> None:
    assert parse_webhook_key("webhooks/dt=2024-05-01/notes.json") is None
    assert parse_webhook_key("exports/chat.txt") is None
    assert is_export_key("exports/WhatsApp Chat with Ana.ZIP")
    assert not is_export_key("exports/photo.jpg")
    assert not is_export_key("webhooks/chat.txt")
