"""Which expectations guard which table, split into blocking (correctness) and warning suites.

Blocking suites protect what downstream code and analysts rely on: identities
are unique, keys are present, rows sit in the partition being written, and the
numbers marts aggregate (sentiment scores, token counts, archive checksums) are
in range. A failure stops the run before downstream assets read the bad rows.
Warning suites flag doubtful values (unknown language codes, unexpected enum
values, negative counts) that are worth a look but do not make joins wrong.
"""

from __future__ import annotations

from datetime import datetime

from wareader_pipelines.parsing.records import MESSAGE_TYPES
from wareader_pipelines.quality.expectations import (
    Between,
    Expectation,
    InSet,
    InWindow,
    Matches,
    NotNull,
    Unique,
    UniqueTogether,
)
from wareader_pipelines.quality.languages import ISO_639_1

MESSAGE_SOURCES = frozenset({"webhook", "export"})
STATUSES = frozenset({"sent", "delivered", "read", "failed", "deleted", "played", "warning"})
SENTIMENT_LABELS = frozenset({"positive", "neutral", "negative"})
LANGUAGE_METHODS = frozenset(
    {"detected", "sender_fallback", "conversation_fallback", "undetermined"}
)
SHA256_HEX = r"^[0-9a-f]{64}$"
MEDIA_STATUSES = frozenset({"stored", "already_stored", "expired", "failed"})
SKIN_TONES = frozenset({"light", "medium-light", "medium", "medium-dark", "dark", "mixed"})


def raw_messages_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        Unique("message_id"),
        NotNull("message_id"),
        NotNull("conversation_id"),
        NotNull("sent_at"),
        InWindow("sent_at", start, end),
        InSet("source", MESSAGE_SOURCES),
    ]


def raw_messages_warning() -> list[Expectation]:
    return [
        NotNull("message_type"),
        InSet("message_type", MESSAGE_TYPES),
        InSet("direction", DIRECTIONS),
    ]


def message_statuses_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        UniqueTogether(("message_id", "status")),
        NotNull("message_id"),
        NotNull("status"),
        NotNull("status_at"),
        InWindow("status_at", start, end),
    ]


DIRECTIONS = frozenset({"inbound", "outbound"})
PRICING_MODELS = frozenset({"CBP", "PMP"})
PRICING_TYPES = frozenset({"regular", "free_customer_service", "free_entry_point"})


def message_statuses_warning() -> list[Expectation]:
    return [
        InSet("status", STATUSES),
        InSet("pricing_model", PRICING_MODELS),
        InSet("pricing_type", PRICING_TYPES),
        Matches("recipient_country", r"^[A-Z]{2}$"),
    ]


API_ERROR_LEVELS = frozenset({"value", "message", "status", "history"})


def api_errors_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        Unique("error_key"),
        NotNull("error_key"),
        NotNull("level"),
        InSet("level", API_ERROR_LEVELS),
        NotNull("partition_at"),
        InWindow("partition_at", start, end),
    ]


def quarantine_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        NotNull("source_file"),
        NotNull("reason"),
        NotNull("partition_at"),
        InWindow("partition_at", start, end),
    ]


def cleaned_messages_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        Unique("message_id"),
        NotNull("message_id"),
        NotNull("conversation_id"),
        NotNull("sent_at"),
        InWindow("sent_at", start, end),
    ]


def cleaned_messages_warning() -> list[Expectation]:
    return [
        InSet("language", ISO_639_1),
        Between("language_confidence", 0, 1),
        InSet("language_method", LANGUAGE_METHODS),
        Between("word_count", 0, None),
        Between("emoji_count", 0, None),
        Between("char_count", 0, None),
    ]


def message_sentiment_blocking(
    start: datetime, end: datetime, time_column: str
) -> list[Expectation]:
    return [
        Unique("message_id"),
        NotNull("message_id"),
        # label and score are null where no method could score the message (the contract)
        InSet("label", SENTIMENT_LABELS),
        Between("score", -1, 1),
        InWindow(time_column, start, end),
    ]


def conversation_summaries_blocking(
    start: datetime, end: datetime, time_column: str
) -> list[Expectation]:
    return [
        UniqueTogether(("conversation_id", time_column)),
        NotNull("conversation_id"),
        NotNull(time_column),
        InWindow(time_column, start, end),
        Between("input_tokens", 0, None),
        Between("output_tokens", 0, None),
        Between("cost_usd", 0, None),
    ]


def conversation_summaries_warning() -> list[Expectation]:
    return [NotNull("summary"), Between("message_count", 1, None)]


def conversation_archives_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        UniqueTogether(("conversation_id", "period")),
        NotNull("conversation_id"),
        NotNull("period_start"),
        InWindow("period_start", start, end),
        NotNull("uri"),
        NotNull("sha256"),
        Matches("sha256", SHA256_HEX),
        Between("bytes", 1, None),
    ]


def message_media_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        UniqueTogether(("message_id", "media_id")),
        NotNull("message_id"),
        NotNull("media_id"),
        NotNull("sent_at"),
        InWindow("sent_at", start, end),
        NotNull("status"),
        InSet("status", MEDIA_STATUSES),
        Matches("sha256", SHA256_HEX),
    ]


def message_emoji_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        UniqueTogether(("message_id", "emoji", "skin_tone")),
        NotNull("message_id"),
        NotNull("emoji"),
        InSet("skin_tone", SKIN_TONES),
        Between("occurrences", 1, None),
        InWindow("sent_at", start, end),
    ]


def conversation_reports_blocking(start: datetime, end: datetime) -> list[Expectation]:
    return [
        UniqueTogether(("conversation_id", "period")),
        NotNull("conversation_id"),
        NotNull("status"),
        InWindow("period_start", start, end),
        Matches("png_sha256", SHA256_HEX),
        Between("message_count", 0, None),
    ]
