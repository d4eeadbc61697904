"""Webhook body parsing: every message type, statuses, errors, quarantine and the shipped samples."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wareader_pipelines.landing.layout import parse_webhook_key, webhook_key
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer
from wareader_pipelines.parsing.records import MESSAGE_TYPES, MessageRecord
from wareader_pipelines.parsing.webhook_payload import WebhookParseResult, parse_webhook_body

SAMPLE_LANDING = Path(__file__).resolve().parents[2] / "sample_data" / "landing"
PNID = "106540352242922"
DISPLAY = "15555550100"
ALICE = "14155550123"
LENA_UID = "DE.1729384756102938475"
LANDED = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
T0 = 1714557600  # 2024-05-01T10:00:00Z
PSEUDONYMS = Pseudonymizer(DEVELOPMENT_KEY)


def body_of(value: dict[str, Any], field: str = "messages") -> bytes:
    """A webhook body carrying one change whose value is `value` plus Meta's metadata."""
    full = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY, "phone_number_id": PNID},
        **value,
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": full, "field": field}]}],
    }
    return json.dumps(payload).encode()


def message(kind: str, content: Any, *, mid: str = "wamid.A", sender: str = ALICE, **extra: Any):
    """One inbound message object of type `kind`."""
    msg: dict[str, Any] = {"from": sender, "id": mid, "timestamp": str(T0), "type": kind}
    if content is not None:
        msg[kind] = content
    msg.update(extra)
    return msg


def parsed(body: bytes) -> WebhookParseResult:
    """The parse of `body` under the test's fixed file name and pseudonym key."""
    return parse_webhook_body(
        body, source_file="webhooks/x.json", landed_at=LANDED, pseudonyms=PSEUDONYMS
    )


def only_message(msg: dict[str, Any], contacts: list[dict[str, Any]] | None = None):
    """The single MessageRecord a body with just `msg` gives (asserting nothing else came out)."""
    value: dict[str, Any] = {"messages": [msg]}
    if contacts is not None:
        value["contacts"] = contacts
    result = parsed(body_of(value))
    assert result.quarantine == []
    assert len(result.messages) == 1
    return result.messages[0]


def conversation_of(customer: str) -> str:
    """The conversation id the contract gives a chat with `customer`."""
    return PSEUDONYMS.id_of(f"wa:{PNID}:{customer}", prefix="c_")


# -- message types --------------------------------------------------------------


def test_text_message_fills_every_common_field() -> None:
    contacts = [{"profile": {"name": "Alice Walker"}, "wa_id": ALICE}]
    record = only_message(message("text", {"body": "Hi there"}, mid="wamid.T1"), contacts)
    assert record.message_id == "wamid.T1"
    assert record.message_type == "text"
    assert record.text == "Hi there"
    assert record.source == "webhook"
    assert record.sender_wa_id == ALICE
    assert record.sender_name == "Alice Walker"
    assert record.conversation_name == "Alice Walker"
    assert record.conversation_id == conversation_of(ALICE)
    assert record.sent_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert record.location == "entry[0].changes[0].value.messages[0]"
    assert record.source_file == "webhooks/x.json"
    assert (record.is_system, record.is_edited, record.raw_json) == (False, False, None)
    assert ALICE not in record.conversation_id


@pytest.mark.parametrize(
    ("kind", "content", "text"),
    [
        (
            "image",
            {"caption": "Broken box", "mime_type": "image/jpeg", "sha256": "h1", "id": "11"},
            "Broken box",
        ),
        (
            "video",
            {"caption": "Noise", "mime_type": "video/mp4", "sha256": "h2", "id": "12"},
            "Noise",
        ),
        (
            "audio",
            {"mime_type": "audio/ogg; codecs=opus", "sha256": "h3", "id": "13", "voice": True},
            None,
        ),
        (
            "sticker",
            {"mime_type": "image/webp", "sha256": "h4", "id": "14", "animated": False},
            None,
        ),
    ],
)
def test_media_messages_keep_caption_and_media_fields(
    kind: str, content: dict[str, Any], text: str | None
) -> None:
    record = only_message(message(kind, content))
    assert record.message_type == kind
    assert record.text == text
    assert record.media_id == content["id"]
    assert record.media_mime == content["mime_type"]
    assert record.media_sha256 == content["sha256"]
    assert record.media_filename is None


def test_document_keeps_filename_and_caption() -> None:
    content = {
        "caption": "Segue a nota fiscal.",
        "filename": "nota_fiscal_4471.pdf",
        "mime_type": "application/pdf",
        "sha256": "abc=",
        "id": "99",
    }
    record = only_message(message("document", content))
    assert (record.message_type, record.text) == ("document", "Segue a nota fiscal.")
    assert (record.media_filename, record.media_mime, record.media_id) == (
        "nota_fiscal_4471.pdf",
        "application/pdf",
        "99",
    )


def test_location_text_has_name_address_and_point() -> None:
    content = {
        "name": "Correos",
        "address": "Calle de Alcalá 45",
        "latitude": 40.4189,
        "longitude": -3.6969,
    }
    record = only_message(message("location", content))
    assert record.message_type == "location"
    assert record.text == "Correos, Calle de Alcalá 45 (40.4189, -3.6969)"


def test_location_without_name_is_only_the_point() -> None:
    record = only_message(message("location", {"latitude": 1.5, "longitude": 2.25}))
    assert record.text == "(1.5, 2.25)"


def test_contacts_become_names_and_phones_with_raw_json() -> None:
    cards = [
        {"name": {"formatted_name": "Carlos Pereira"}, "phones": [{"phone": "+55 11 91234-5678"}]},
        {"name": {"formatted_name": "Ana"}},
    ]
    record = only_message(message("contacts", cards))
    assert record.message_type == "contacts"
    assert record.text == "Carlos Pereira (+55 11 91234-5678); Ana"
    assert json.loads(record.raw_json or "")["contacts"] == cards


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ({"type": "button_reply", "button_reply": {"id": "b1", "title": "Refund"}}, "Refund"),
        (
            {
                "type": "list_reply",
                "list_reply": {"id": "l1", "title": "Martes", "description": "x"},
            },
            "Martes",
        ),
        (
            {
                "type": "nfm_reply",
                "nfm_reply": {"response_json": '{"rating":"4"}', "body": "Sent", "name": "flow"},
            },
            '{"rating":"4"}',
        ),
    ],
)
def test_interactive_replies(content: dict[str, Any], text: str) -> None:
    msg = message("interactive", content, context={"from": DISPLAY, "id": "wamid.OUT"})
    record = only_message(msg)
    assert record.message_type == "interactive"
    assert record.text == text
    assert record.reply_to_id == "wamid.OUT"
    assert json.loads(record.raw_json or "")["interactive"] == content


def test_template_button_reply() -> None:
    record = only_message(message("button", {"payload": "CONFIRM", "text": "Yes, Friday"}))
    assert (record.message_type, record.text) == ("button", "Yes, Friday")


def test_reaction_text_is_the_emoji_and_points_at_the_reacted_message() -> None:
    record = only_message(message("reaction", {"message_id": "wamid.OUT6", "emoji": "🙏"}))
    assert (record.message_type, record.text, record.reply_to_id) == (
        "reaction",
        "🙏",
        "wamid.OUT6",
    )


def test_removed_reaction_has_no_text() -> None:
    record = only_message(message("reaction", {"message_id": "wamid.OUT6"}))
    assert (record.text, record.reply_to_id) == (None, "wamid.OUT6")


def test_system_message_is_marked_system() -> None:
    content = {"body": "A changed from 1 to 2", "new_wa_id": "2", "type": "user_changed_number"}
    record = only_message(message("system", content))
    assert (record.message_type, record.is_system, record.text) == ("system", True, content["body"])


def test_unsupported_message_keeps_raw_json_and_reports_its_error() -> None:
    error = {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    }
    result = parsed(body_of({"messages": [message("unsupported", None, errors=[error])]}))
    (record,) = result.messages
    assert record.message_type == "unsupported"
    assert json.loads(record.raw_json or "")["errors"] == [error]
    (err,) = result.errors
    assert (err.code, err.title, err.details) == (
        131051,
        "Message type unknown",
        error["error_data"]["details"],
    )
    assert err.location == "entry[0].changes[0].value.messages[0].errors[0]"
    assert err.occurred_at == record.sent_at
    assert err.business_number_id == PNID
    assert (err.level, err.message_id, err.status) == ("message", "wamid.A", None)


def test_unknown_type_is_kept_as_unsupported_not_dropped() -> None:
    msg = message("poll", {"question": "Which colour?", "options": ["red", "blue"]})
    record = only_message(msg)
    assert record.message_type == "unsupported"
    assert json.loads(record.raw_json or "") == msg


def test_reply_context_and_forwarded_context() -> None:
    replied = only_message(
        message("text", {"body": "yes"}, context={"from": DISPLAY, "id": "wamid.Q"})
    )
    forwarded = only_message(message("text", {"body": "fwd"}, context={"forwarded": True}))
    assert replied.reply_to_id == "wamid.Q"
    assert forwarded.reply_to_id is None


def test_sender_with_only_user_id_is_keyed_on_it() -> None:
    msg = {
        "from_user_id": LENA_UID,
        "id": "wamid.L1",
        "timestamp": str(T0),
        "type": "text",
        "text": {"body": "Hallo"},
    }
    contacts = [{"profile": {"name": "Lena Hoffmann"}, "user_id": LENA_UID}]
    record = only_message(msg, contacts)
    assert record.sender_wa_id == LENA_UID
    assert record.sender_name == "Lena Hoffmann"
    assert record.conversation_id == conversation_of(LENA_UID)


def test_name_matches_on_user_id_when_contact_also_has_wa_id() -> None:
    contacts = [{"profile": {"name": "Bo"}, "wa_id": "4915112345678", "user_id": "DE.42"}]
    msg = {"from_user_id": "DE.42", "id": "wamid.B", "timestamp": str(T0), "type": "text"}
    record = only_message(msg, contacts)
    assert (record.sender_wa_id, record.sender_name) == ("DE.42", "Bo")


def test_duplicate_message_ids_in_one_body_give_one_row() -> None:
    first = message("text", {"body": "one"}, mid="wamid.D")
    again = message("text", {"body": "one, again"}, mid="wamid.D")
    other = message("text", {"body": "two"}, mid="wamid.E")
    result = parsed(body_of({"messages": [first, again, other]}))
    assert [(m.message_id, m.text) for m in result.messages] == [
        ("wamid.D", "one"),
        ("wamid.E", "two"),
    ]


def test_every_modelled_type_is_a_contract_type() -> None:
    kinds = [
        "text",
        "image",
        "reaction",
        "location",
        "interactive",
        "button",
        "contacts",
        "system",
        "x",
    ]
    result = parsed(body_of({"messages": [message(k, {}, mid=f"wamid.{k}") for k in kinds]}))
    assert {m.message_type for m in result.messages} <= MESSAGE_TYPES
    assert len(result.messages) == len(kinds)


# -- history and echoes ----------------------------------------------------------


def test_history_threads_give_customer_and_business_messages_in_one_conversation() -> None:
    history = [
        {
            "metadata": {"phase": 0, "chunk_order": 1, "progress": 100},
            "threads": [
                {
                    "id": ALICE,
                    "messages": [
                        {
                            "from": ALICE,
                            "id": "wamid.H1",
                            "timestamp": str(T0),
                            "type": "text",
                            "text": {"body": "Do you ship to Boston?"},
                            "history_context": {"status": "READ"},
                        },
                        {
                            "from": DISPLAY,
                            "to": ALICE,
                            "id": "wamid.H2",
                            "timestamp": str(T0 + 60),
                            "type": "text",
                            "text": {"body": "We do!"},
                            "history_context": {"status": "DELIVERED"},
                        },
                    ],
                }
            ],
        },
        {"errors": [{"code": 2593109, "title": "History sharing declined"}]},
    ]
    result = parsed(body_of({"history": history}, field="history"))
    assert result.quarantine == []
    h1, h2 = result.messages
    assert h1.conversation_id == h2.conversation_id == conversation_of(ALICE)
    assert (h1.sender_wa_id, h2.sender_wa_id) == (ALICE, DISPLAY)
    assert h2.sender_name is None
    assert h2.location == "entry[0].changes[0].value.history[0].threads[0].messages[1]"
    assert [e.code for e in result.errors] == [2593109]
    assert result.errors[0].location == "entry[0].changes[0].value.history[1].errors[0]"


def test_message_echo_belongs_to_the_customer_it_was_sent_to() -> None:
    echo = {"from": DISPLAY, "to": ALICE, "id": "wamid.E1", "timestamp": str(T0), "type": "text"}
    result = parsed(body_of({"message_echoes": [echo]}, field="smb_message_echoes"))
    (record,) = result.messages
    assert (record.sender_wa_id, record.conversation_id) == (DISPLAY, conversation_of(ALICE))


# -- statuses and top-level errors ----------------------------------------------


def status(mid: str, state: str, at: int, **extra: Any) -> dict[str, Any]:
    """One status object for recipient ALICE unless `extra` says otherwise."""
    return {"id": mid, "status": state, "timestamp": str(at), "recipient_id": ALICE, **extra}


def test_statuses_keep_failed_error_and_dedupe_on_id_and_status() -> None:
    failed_error = {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "more than 24 hours have passed"},
    }
    statuses = [
        status("wamid.O1", "sent", T0, conversation={"id": "cv"}, pricing={"billable": True}),
        status("wamid.O1", "sent", T0),  # Meta's duplicate
        status("wamid.O1", "read", T0 + 30),  # read without delivered: fine
        status("wamid.O2", "failed", T0 + 40, errors=[failed_error]),
        {
            "id": "wamid.O3",
            "status": "delivered",
            "timestamp": str(T0),
            "recipient_user_id": LENA_UID,
        },
    ]
    result = parsed(body_of({"statuses": statuses}))
    assert result.quarantine == []
    assert [(s.message_id, s.status) for s in result.statuses] == [
        ("wamid.O1", "sent"),
        ("wamid.O1", "read"),
        ("wamid.O2", "failed"),
        ("wamid.O3", "delivered"),
    ]
    read, failed, by_user_id = result.statuses[1:]
    assert read.status_at == datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)
    assert (read.error_code, read.error_title) == (None, None)
    assert (failed.error_code, failed.error_title) == (131047, "Re-engagement message")
    assert failed.recipient_wa_id == ALICE
    assert failed.conversation_id == conversation_of(ALICE)
    assert (by_user_id.recipient_wa_id, by_user_id.conversation_id) == (
        LENA_UID,
        conversation_of(LENA_UID),
    )
    assert [(e.code, e.details, e.location) for e in result.errors] == [
        (
            131047,
            "more than 24 hours have passed",
            "entry[0].changes[0].value.statuses[3].errors[0]",
        )
    ]


def test_top_level_errors_become_webhook_errors() -> None:
    error = {
        "code": 130429,
        "title": "Rate limit hit",
        "message": "(#130429) Rate limit hit",
        "error_data": {"details": "Cloud API message throughput has been reached."},
    }
    result = parsed(body_of({"errors": [error]}))
    (err,) = result.errors
    assert (err.code, err.title, err.message) == (
        130429,
        "Rate limit hit",
        "(#130429) Rate limit hit",
    )
    assert err.details == "Cloud API message throughput has been reached."
    assert (err.business_number_id, err.occurred_at, err.landed_at) == (PNID, None, LANDED)
    assert (err.level, err.message_id) == ("value", None)
    assert err.location == "entry[0].changes[0].value.errors[0]"
    assert (result.messages, result.statuses, result.quarantine) == ([], [], [])


def test_error_keys_are_stable_across_redeliveries_and_distinct_within_a_body() -> None:
    error = {"code": 131026, "title": "Message undeliverable"}
    top = {"code": 130429, "title": "Rate limit hit"}
    statuses = [
        status("wamid.O1", "failed", T0, errors=[error, top]),
        status("wamid.O2", "failed", T0, errors=[error]),
    ]
    body = body_of({"errors": [top], "statuses": statuses})
    first, again = (
        parsed(body),
        parse_webhook_body(
            body, source_file="webhooks/later.json", landed_at=LANDED, pseudonyms=PSEUDONYMS
        ),
    )
    keys = [e.error_key for e in first.errors]
    assert len(set(keys)) == 4
    assert keys == [e.error_key for e in again.errors]
    assert [e.level for e in first.errors] == ["value", "status", "status", "status"]
    # the same status error in a different body (Meta batched it otherwise) has the same key
    alone = parsed(body_of({"statuses": [statuses[1]]}))
    assert alone.errors[0].error_key == first.errors[3].error_key
    # an account-level error in a different body is a different event
    other = parsed(body_of({"errors": [top], "statuses": []}))
    assert other.errors[0].error_key != first.errors[0].error_key


# -- business messaging: direction, conversation, pricing, country ---------------


def test_direction_of_customer_messages_echoes_and_history() -> None:
    inbound = only_message(message("text", {"body": "hola"}, mid="wamid.IN"))
    assert (inbound.direction, inbound.business_number_id) == ("inbound", PNID)
    assert inbound.customer_id == PSEUDONYMS.id_of(ALICE, prefix="u_")
    echo = {"from": DISPLAY, "to": ALICE, "id": "wamid.E", "timestamp": str(T0), "type": "text"}
    (out,) = parsed(body_of({"message_echoes": [echo]}, field="smb_message_echoes")).messages
    assert (out.direction, out.customer_id) == ("outbound", inbound.customer_id)
    # the business's own number in `messages` (a Business-app reply) is outbound too
    own = only_message(
        message("text", {"body": "we open at 9"}, mid="wamid.OWN", sender=DISPLAY, to=ALICE)
    )
    assert (own.direction, own.customer_id) == ("outbound", inbound.customer_id)


def test_status_keeps_conversation_pricing_business_number_and_country() -> None:
    statuses = [
        status(
            "wamid.O1",
            "sent",
            T0,
            conversation={
                "id": "6ceb9d929c2ea5d31fe8b1bd9df5c8d5",
                "expiration_timestamp": str(T0 + 86400),
                "origin": {"type": "marketing"},
            },
            pricing={"billable": True, "pricing_model": "CBP", "category": "marketing"},
        ),
        {
            "id": "wamid.O2",
            "status": "sent",
            "timestamp": str(T0),
            "recipient_id": "5511987654321",
            "pricing": {
                "billable": False,
                "pricing_model": "PMP",
                "category": "service",
                "type": "free_customer_service",
            },
        },
        {
            "id": "wamid.O3",
            "status": "read",
            "timestamp": str(T0),
            "recipient_user_id": LENA_UID,
            "conversation": {"id": 42, "origin": "nonsense"},  # malformed: read what is usable
            "pricing": {"billable": "yes"},
        },
    ]
    result = parsed(body_of({"statuses": statuses}))
    assert result.quarantine == []
    marketing, service, by_user_id = result.statuses
    assert marketing.conversation_id_meta == "6ceb9d929c2ea5d31fe8b1bd9df5c8d5"
    assert marketing.conversation_origin == "marketing"
    assert marketing.conversation_expires_at == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    assert (marketing.pricing_billable, marketing.pricing_model, marketing.pricing_category) == (
        True,
        "CBP",
        "marketing",
    )
    assert marketing.pricing_type is None
    assert (marketing.business_number_id, marketing.recipient_country) == (PNID, "US")
    assert marketing.recipient_id == PSEUDONYMS.id_of(ALICE, prefix="u_")
    assert (service.pricing_billable, service.pricing_model, service.pricing_type) == (
        False,
        "PMP",
        "free_customer_service",
    )
    assert service.recipient_country == "BR"
    assert service.conversation_id_meta is None
    assert by_user_id.recipient_country is None  # a user id names no country
    assert by_user_id.recipient_id == PSEUDONYMS.id_of(LENA_UID, prefix="u_")
    assert (by_user_id.conversation_id_meta, by_user_id.conversation_origin) == (None, None)
    assert by_user_id.pricing_billable is None


# -- quarantine -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        (b'{"object":"whatsapp_business_account","entry":[{"id":', "not valid JSON"),
        (b"\xff\xfe{not utf8", "not UTF-8"),
        (b"[1, 2, 3]", "JSON list, not an object"),
        (b'{"object":"page","entry":[]}', "'page', not 'whatsapp_business_account'"),
        (b'{"object":"whatsapp_business_account"}', "no 'entry' list"),
        (b"", "not valid JSON"),
    ],
)
def test_unusable_body_is_one_whole_body_quarantine_row(body: bytes, reason_part: str) -> None:
    result = parsed(body)
    (row,) = result.quarantine
    assert row.location == "whole body"
    assert reason_part in row.reason
    assert row.landed_at == LANDED
    assert row.source_file == "webhooks/x.json"
    assert (result.messages, result.statuses, result.errors) == ([], [], [])


def test_bodies_the_fast_decoder_refuses_read_as_the_standard_library_reads_them() -> None:
    # orjson refuses lone surrogates, integers beyond 64 bits and NaN, which `json` accepts:
    # such bodies must still give their messages, exactly as before the fast decoder.
    msg = message("text", {"body": "broken SURROGATE emoji"}, mid="wamid.S1")
    body = (
        body_of({"messages": [msg]})
        .replace(b"SURROGATE", b"\\ud83d")
        .replace(b'"messaging_product"', b'"big": 123456789012345678901234, "messaging_product"')
        .replace(b'"id": "102290129340398"', b'"id": "102290129340398", "score": NaN')
    )
    result = parsed(body)
    assert result.quarantine == []
    (record,) = result.messages
    assert record.message_id == "wamid.S1"
    assert record.text == "broken \ufffd emoji"  # the lone surrogate repaired, as `json` reads it


def test_an_escaped_nul_is_repaired_on_the_fast_decoders_path_and_paired_escapes_kept() -> None:
    # orjson reads this body (the surrogate pair is an emoji), so only the NUL needs a repair:
    # the walk over the rows is taken for "\\u0000", not for every escaped emoji.
    msg = message("text", {"body": "hi NUL there PAIR"}, mid="wamid.N1")
    body = (
        body_of({"messages": [msg]}).replace(b"NUL", b"\\u0000").replace(b"PAIR", b"\\ud83d\\ude00")
    )
    (record,) = parsed(body).messages
    assert record.text == "hi  there \U0001f600"
    assert record.text_repairs == "text: 1 NUL removed"
    (emoji_only,) = parsed(body_of({"messages": [msg]}).replace(b"NUL", b"\\ud83d\\ude00")).messages
    assert emoji_only.text == "hi \U0001f600 there PAIR"
    assert emoji_only.text_repairs is None


def test_a_body_with_a_byte_order_mark_gets_the_standard_librarys_reason() -> None:
    (row,) = parsed(b"\xef\xbb\xbf" + body_of({"messages": []})).quarantine
    assert row.reason.startswith("body is not valid JSON: Unexpected UTF-8 BOM")


def test_whole_body_excerpt_is_at_most_300_characters() -> None:
    result = parsed(b'{"object":"page","entry":[' + b'"x",' * 500 + b'"y"]}')
    assert result.quarantine[0].excerpt.startswith('{"object":"page"')
    assert len(result.quarantine[0].excerpt) == 300


@pytest.mark.parametrize(
    ("bad", "reason_part"),
    [
        ({"from": ALICE, "timestamp": str(T0), "type": "text"}, "no id"),
        (
            {"from": ALICE, "id": "wamid.X", "timestamp": "2024-05-01T10:00:00Z", "type": "text"},
            "bad timestamp",
        ),
        ({"from": ALICE, "id": "wamid.X", "type": "text"}, "bad timestamp"),
        (
            {"from": ALICE, "id": "wamid.X", "timestamp": "1714557600000", "type": "text"},
            "bad timestamp",
        ),
        ({"id": "wamid.X", "timestamp": str(T0), "type": "text"}, "no sender"),
        ("not an object", "not an object"),
    ],
)
def test_one_bad_message_is_quarantined_and_the_good_ones_kept(bad: Any, reason_part: str) -> None:
    good1 = message("text", {"body": "one"}, mid="wamid.G1")
    good2 = message("text", {"body": "two"}, mid="wamid.G2")
    result = parsed(body_of({"messages": [good1, bad, good2]}))
    assert [m.message_id for m in result.messages] == ["wamid.G1", "wamid.G2"]
    (row,) = result.quarantine
    assert row.location == "entry[0].changes[0].value.messages[1]"
    assert reason_part in row.reason
    assert len(row.excerpt) <= 300


def test_bad_status_is_quarantined_and_the_good_ones_kept() -> None:
    statuses = [status("wamid.O1", "sent", T0), {"id": "wamid.O2", "timestamp": str(T0)}]
    result = parsed(body_of({"statuses": statuses}))
    assert [s.message_id for s in result.statuses] == ["wamid.O1"]
    assert [q.location for q in result.quarantine] == ["entry[0].changes[0].value.statuses[1]"]


def test_change_without_phone_number_id_is_quarantined_not_keyed_on_nothing() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [{"field": "messages", "value": {"messages": [message("text", {})]}}],
            }
        ],
    }
    result = parsed(json.dumps(payload).encode())
    assert result.messages == []
    assert [q.location for q in result.quarantine] == ["entry[0].changes[0].value"]


def test_other_webhook_fields_yield_nothing_and_are_not_errors() -> None:
    value = {"event": "APPROVED", "message_template_id": 1, "message_template_name": "hello"}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [{"field": "message_template_status_update", "value": value}]}
        ],
    }
    result = parsed(json.dumps(payload).encode())
    assert (result.messages, result.statuses, result.errors, result.quarantine) == ([], [], [], [])


# -- the shipped sample landing zone ---------------------------------------------


# The sample's generated business account (wareader_testkit/generate_landing.py, see its docstring):
# its bodies name its own number, and its one cut-short body ends inside the metadata.
BUSINESS_ACCOUNT_NUMBER = b'"106540352242942"'
GENERATED_CUT_SHORT = b'"metadata":{"display_'


def is_business_account_body(body: bytes) -> bool:
    """Whether a shipped body belongs to the generated business account, not the hand-made set."""
    return BUSINESS_ACCOUNT_NUMBER in body or body.endswith(GENERATED_CUT_SHORT)


def sample_results(*, business_account: bool = False) -> dict[str, WebhookParseResult]:
    """Every hand-made shipped sample body parsed (or the business account's), by key."""
    results = {}
    for path in sorted(SAMPLE_LANDING.glob("webhooks/dt=*/*.json")):
        key = path.relative_to(SAMPLE_LANDING).as_posix()
        body = path.read_bytes()
        if is_business_account_body(body) != business_account:
            continue
        results[key] = parse_webhook_body(
            body, source_file=key, landed_at=LANDED, pseudonyms=PSEUDONYMS
        )
    return results


def test_sample_business_account_has_both_directions_pricing_and_stop_words() -> None:
    results = sample_results(business_account=True)
    messages = [m for r in results.values() for m in r.messages]
    statuses = [s for r in results.values() for s in r.statuses]
    assert {m.direction for m in messages} == {"inbound", "outbound"}
    assert {m.business_number_id for m in messages} == {"106540352242942"}
    assert {s.pricing_model for s in statuses} >= {"CBP", "PMP"}
    assert any((m.text or "").strip(" !").lower() in {"stop", "baja", "sair"} for m in messages)
    assert sum(len(r.quarantine) for r in results.values()) == 1  # the cut-short body


def test_sample_files_are_named_by_webhook_key_of_their_bytes() -> None:
    paths = sorted(SAMPLE_LANDING.glob("webhooks/dt=*/*.json"))
    assert len(paths) >= 24
    for path in paths:
        key = path.relative_to(SAMPLE_LANDING).as_posix()
        parts = parse_webhook_key(key)
        assert parts is not None, key
        assert webhook_key(path.read_bytes(), parts.received_at) == key


def test_sample_bodies_give_the_expected_totals() -> None:
    results = sample_results()
    messages = [m for r in results.values() for m in r.messages]
    statuses = [s for r in results.values() for s in r.statuses]
    errors = [e for r in results.values() for e in r.errors]
    quarantine = [q for r in results.values() for q in r.quarantine]

    assert len(results) == 34
    assert len(messages) == 33
    assert len({m.message_id for m in messages}) == 31  # two ids arrive twice
    assert Counter(s.status for s in statuses) == {
        "sent": 3,
        "delivered": 2,
        "read": 2,
        "failed": 1,
    }
    assert sorted(e.code for e in errors) == [130429, 131047, 131051]
    assert set(MESSAGE_TYPES) - {m.message_type for m in messages} == {"deleted", "media"}

    assert Counter(q.location for q in quarantine) == {
        "whole body": 2,
        "entry[0].changes[0].value.messages[1]": 1,
    }
    reasons = " | ".join(q.reason for q in quarantine)
    assert "not valid JSON" in reasons and "'page'" in reasons and "bad timestamp" in reasons

    assert all(
        datetime(2024, 5, 1, tzinfo=UTC) <= m.sent_at < datetime(2024, 6, 1, tzinfo=UTC)
        for m in messages
    )
    assert all(m.message_id.startswith("wamid.") for m in messages)
    assert len({m.conversation_id for m in messages}) == 4
    assert {m.conversation_name for m in messages} - {None} == {
        "Alice Walker",
        "María García",
        "João Silva",
        "Lena Hoffmann",
    }


def test_samples_hold_redeliveries_late_bodies_history_and_user_id_senders() -> None:
    results = sample_results()
    files_of: dict[str, set[str]] = {}
    for key, result in results.items():
        for m in result.messages:
            files_of.setdefault(m.message_id, set()).add(key)
    repeated = {mid: keys for mid, keys in files_of.items() if len(keys) > 1}
    assert len(repeated) == 2
    shas = [{parse_webhook_key(k).sha256 for k in keys} for keys in repeated.values()]  # type: ignore[union-attr]
    assert sorted(len(s) for s in shas) == [1, 2]  # same bytes twice, and one id in two bodies

    late = [
        m
        for key, r in results.items()
        for m in r.messages
        if (parse_webhook_key(key).day - m.sent_at.date()).days >= 3  # type: ignore[union-attr]
    ]
    assert [(m.sent_at.date().isoformat(), m.source_file[:22]) for m in late] == [
        ("2024-05-10", "webhooks/dt=2024-05-13")
    ]

    history = [m for r in results.values() for m in r.messages if ".history[" in m.location]
    assert len(history) == 5
    assert any(m.sender_wa_id == DISPLAY for m in history)
    user_id_only = [m for r in results.values() for m in r.messages if m.sender_wa_id == LENA_UID]
    assert user_id_only and all(
        m.conversation_id == conversation_of(LENA_UID) for m in user_id_only
    )
    assert any(
        m.text and m.media_id
        for r in results.values()
        for m in r.messages
        if m.message_type == "image"
    )
    assert any(
        m.reply_to_id for r in results.values() for m in r.messages if m.message_type == "text"
    )
    read_only = {
        s.message_id for r in results.values() for s in r.statuses if s.status == "read"
    } - {s.message_id for r in results.values() for s in r.statuses if s.status == "delivered"}
    assert len(read_only) == 1


def record_fields_are_plain(record: MessageRecord) -> bool:
    """Whether a record holds only plain values (no dicts or lists leaked from the JSON)."""
    return all(not isinstance(getattr(record, f), dict | list) for f in record.__slots__)


def test_sample_records_hold_only_plain_values() -> None:
    assert all(record_fields_are_plain(m) for r in sample_results().values() for m in r.messages)


def test_an_array_that_is_not_a_list_is_quarantined_at_its_place() -> None:
    value = {"messages": {"id": "wamid.M"}, "statuses": [status("wamid.O1", "sent", T0)]}
    result = parsed(body_of(value))
    assert [q.location for q in result.quarantine] == ["entry[0].changes[0].value.messages"]
    assert [s.message_id for s in result.statuses] == ["wamid.O1"]
