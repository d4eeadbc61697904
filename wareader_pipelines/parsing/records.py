"""The row shapes every parser produces, one dataclass per warehouse table.

Parsers return these instead of DataFrames so that they stay easy to test and
cheap to build; the assets turn lists of them into frames with `frame_of`.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "reaction",
        "system",
        "unsupported",
        "deleted",
        "media",
    }
)


@dataclass(slots=True)
class MessageRecord:
    """One message, from a webhook body or a chat export (`raw_messages`)."""

    message_id: str
    conversation_id: str
    source: str  # "webhook" | "export"
    sender_wa_id: str | None  # phone number digits (E.164 without "+") or Cloud API user_id
    sender_name: str | None
    sent_at: datetime  # timezone-aware, UTC
    message_type: str  # one of MESSAGE_TYPES
    text: str | None
    media_id: str | None
    media_mime: str | None
    reply_to_id: str | None
    is_system: bool
    is_edited: bool
    source_file: str
    location: str  # where in source_file: "line 12" or "entry[0].changes[1].messages[3]"
    conversation_name: str | None = None
    media_filename: str | None = None
    media_sha256: str | None = None
    media_bytes: int | None = None
    export_timezone: str | None = None
    raw_json: str | None = None  # the message object as received, for types we do not model
    text_repairs: str | None = None  # what was changed to make the text storable (storable_text)
    # Business messaging (webhooks only; None for chat exports, which have no business side):
    direction: str | None = None  # "inbound" (a customer wrote it) | "outbound" (the business did)
    business_number_id: str | None = None  # metadata.phone_number_id of the business number
    customer_id: str | None = None  # keyed pseudonym ("u_…") of the customer of the chat
    # JSON array of the display names of everyone who writes in this chat in the same export
    # (set by ingestion): the names cleaning masks in text, whichever day a row is on.
    participant_names: str | None = None


@dataclass(slots=True)
class StatusRecord:
    """One delivery-status event for an outgoing message (`message_statuses`)."""

    message_id: str
    status: str  # sent | delivered | read | failed | deleted | ...
    status_at: datetime  # timezone-aware, UTC
    recipient_wa_id: str | None
    conversation_id: str | None
    error_code: int | None
    error_title: str | None
    source_file: str
    location: str
    recipient_id: str | None = None  # keyed pseudonym ("u_…") of the recipient
    business_number_id: str | None = None  # metadata.phone_number_id of the sending number
    recipient_country: str | None = None  # ISO 3166-1 region of the recipient's number
    conversation_id_meta: str | None = None  # statuses[].conversation.id
    conversation_origin: str | None = None  # conversation.origin.type: service, marketing...
    conversation_expires_at: datetime | None = None  # conversation.expiration_timestamp, UTC
    pricing_billable: bool | None = None  # pricing.billable (deprecated by Meta under PMP)
    pricing_model: str | None = None  # pricing.pricing_model: CBP or PMP
    pricing_category: str | None = None  # pricing.category: service, marketing, utility...
    pricing_type: str | None = None  # pricing.type: regular, free_customer_service...


@dataclass(slots=True)
class ApiErrorRecord:
    """One error object Meta sent: for the account or number, a message, a status (`api_errors`).

    Kept as rows, not only counted, so that operators and analysts see which
    messages failed why (131047 outside the service window, 131050 opted out of
    marketing) and which account-level problems (throttling, expired tokens) happened when.
    """

    error_key: str  # identifies the error across re-deliveries of the same event
    level: str  # "value" (account or number), "message", "status" or "history"
    code: int | None
    title: str | None
    message: str | None
    details: str | None  # error_data.details
    message_id: str | None  # the message (or status's message) the error is about
    status: str | None  # the status the error came with (usually "failed")
    business_number_id: str | None
    occurred_at: datetime | None  # the message's or status's time; None at the account level
    landed_at: datetime  # when the body carrying it was received
    source_file: str
    location: str


@dataclass(slots=True)
class QuarantineRecord:
    """One input we could not use, and why (`quarantine`)."""

    source_file: str
    location: str  # "line 17", "whole file", "entry[0].changes[0]"
    reason: str  # a sentence a person understands
    excerpt: str  # at most a few hundred characters of the offending input
    landed_at: datetime  # timezone-aware, UTC: when the input reached the landing zone
    # The time that files the row under a daily partition: the nearby message's time for a bad
    # line inside an export, else landed_at (filled in by ingestion when left None).
    partition_at: datetime | None = None


def frame_of(records: list[Any], record_type: type) -> pd.DataFrame:
    """A DataFrame with one column per field of `record_type`, also when `records` is empty."""
    columns = [f.name for f in dataclasses.fields(record_type)]
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    row_of = operator.attrgetter(*columns)  # astuple() deep-copies: too slow for 1M rows
    return pd.DataFrame.from_records([row_of(r) for r in records], columns=columns)
