"""A small hand-made business account (two customers, one business number) for the dbt marts.

Every expectation in `test_business_marts.py` is computed by hand from these rows; the
comments say what each row is there to exercise. Times are UTC; 2024-05-10 is a Friday.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.resources.warehouse import backend_for, conform_to_schema

BUSINESS = "106540352242922"
ALICE, BRUNO = "u_alice", "u_bruno"  # customer pseudonyms (US and BR numbers)
CHAT_A, CHAT_B = "c_alice", "c_bruno"


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, second, tzinfo=UTC)


# (message_id, chat, customer, direction, sent_at, text)
MESSAGES = [
    ("m1", CHAT_A, ALICE, "inbound", at(10, 17, 30), "Hi, where is my order?"),  # Fri: turn 1
    ("m2", CHAT_A, ALICE, "inbound", at(13, 9, 40), "thanks, and the invoice?"),  # window 2
    ("m3", CHAT_A, ALICE, "inbound", at(13, 9, 45), "please stop sending me the newsletter"),
    ("o2", CHAT_A, ALICE, "outbound", at(13, 10, 0), "Here it is"),  # an echo, in window 2
    ("m4", CHAT_A, ALICE, "inbound", at(14, 12, 0), "STOP"),  # window 3 opens; opt-out
    ("m5", CHAT_A, ALICE, "inbound", at(15, 8, 0), "  Start! "),  # opts in again; unanswered
]

# (message_id, status, status_at, chat, recipient, country, error, conversation, pricing)
CBP_B2 = ("conv-b2", "utility", "CBP", "utility", None, True)
STATUSES = [
    # o1: a template answering Alice's Friday message on Monday, outside any window;
    # its read arrived before its delivered
    (
        "o1",
        "sent",
        at(13, 9, 15),
        CHAT_A,
        ALICE,
        "US",
        None,
        (None, None, "PMP", "utility", "regular", True),
    ),
    ("o1", "read", at(13, 9, 20), CHAT_A, ALICE, "US", None, None),
    ("o1", "delivered", at(13, 9, 16), CHAT_A, ALICE, "US", None, None),
    # o2 (the echo): read, then a failed that must not undo the read
    (
        "o2",
        "sent",
        at(13, 10, 0),
        CHAT_A,
        ALICE,
        "US",
        None,
        (None, None, "PMP", "service", "free_customer_service", False),
    ),
    ("o2", "delivered", at(13, 10, 0, 5), CHAT_A, ALICE, "US", None, None),
    ("o2", "read", at(13, 10, 1), CHAT_A, ALICE, "US", None, None),
    ("o2", "failed", at(13, 10, 5), CHAT_A, ALICE, "US", 131026, None),
    # o3: the answer to Alice's STOP, inside window 3
    (
        "o3",
        "sent",
        at(14, 12, 30),
        CHAT_A,
        ALICE,
        "US",
        None,
        (None, None, "PMP", "service", "free_customer_service", False),
    ),
    ("o3", "delivered", at(14, 12, 31), CHAT_A, ALICE, "US", None, None),
    # Bruno never wrote: every message to him is a template outside any window
    (
        "o4",
        "sent",
        at(13, 11, 0),
        CHAT_B,
        BRUNO,
        "BR",
        None,
        ("conv-b1", "marketing", "CBP", "marketing", None, True),
    ),
    ("o4", "failed", at(13, 11, 0, 10), CHAT_B, BRUNO, "BR", 131050, None),  # opted out
    ("o5", "sent", at(13, 11, 5), CHAT_B, BRUNO, "BR", None, CBP_B2),
    ("o5", "delivered", at(13, 11, 5, 5), CHAT_B, BRUNO, "BR", None, CBP_B2),  # charged once
    ("o6", "sent", at(13, 11, 10), CHAT_B, BRUNO, "BR", None, CBP_B2),
    ("o6", "read", at(13, 11, 12), CHAT_B, BRUNO, "BR", None, CBP_B2),  # no delivered at all
    ("o7", "failed", at(13, 11, 20), CHAT_B, BRUNO, "BR", 131047, None),  # only a failure
]


def frames() -> dict[str, tuple[dg.TableSchema, pd.DataFrame]]:
    raw = pd.DataFrame(
        [
            {
                "message_id": mid,
                "conversation_id": chat,
                "source": "webhook",
                "sent_at": sent_at,
                "message_type": "text",
                "text": text,
                "is_system": False,
                "is_edited": False,
                "source_file": "webhooks/sample.json",
                "location": f"messages[{number}]",
                "direction": direction,
                "business_number_id": BUSINESS,
                "customer_id": customer,
            }
            for number, (mid, chat, customer, direction, sent_at, text) in enumerate(MESSAGES)
        ]
    )
    cleaned = raw[["message_id", "conversation_id", "sent_at", "message_type", "is_system"]].assign(
        sender_id=[c if d == "inbound" else "u_business" for _, _, c, d, _, _ in MESSAGES],
        text_clean=raw["text"],
    )
    rows = []
    for number, (mid, state, moment, chat, recipient, country, error, billing) in enumerate(
        STATUSES
    ):
        meta_id, origin, model, category, kind, billable = billing or (None,) * 6
        rows.append(
            {
                "message_id": mid,
                "status": state,
                "status_at": moment,
                "conversation_id": chat,
                "error_code": error,
                "source_file": "webhooks/sample.json",
                "location": f"statuses[{number}]",
                "recipient_id": recipient,
                "business_number_id": BUSINESS,
                "recipient_country": country,
                "conversation_id_meta": meta_id,
                "conversation_origin": origin,
                "pricing_billable": billable,
                "pricing_model": model,
                "pricing_category": category,
                "pricing_type": kind,
            }
        )
    statuses = pd.DataFrame(rows)
    return {
        "raw_messages": (tables.RAW_MESSAGES, raw),
        "cleaned_messages": (tables.CLEANED_MESSAGES, cleaned),
        "message_statuses": (tables.MESSAGE_STATUSES, statuses),
    }


def write_business_sample(url: str) -> None:
    """Write the business sample's tables into the warehouse at `url`, schema `wareader`."""
    backend = backend_for(url, "wareader")
    for table, (schema, frame) in frames().items():
        backend.replace_rows(table, schema, conform_to_schema(frame, schema, table), None)
