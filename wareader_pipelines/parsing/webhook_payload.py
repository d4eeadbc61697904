"""Meta WhatsApp Cloud API webhook bodies → message, status and error rows.

A body is one raw POST from Meta, stored byte-exact in the landing zone. It is
decoded once (orjson, or the standard library's `json` for what orjson refuses)
and walked; nothing is re-serialized except the `raw_json` of messages whose
content does not fit the text column.

Shapes read (every `entry[].changes[].value`, whatever its `field` says, so a
missing or new field name does not lose data):

- `value.messages[]` (field `messages`): what customers sent the business.
  The sender is `from` (phone digits, the `wa_id`) or, in newer payloads that
  hide the phone, `from_user_id` (the business-scoped user id). Names come
  from `value.contacts[].profile.name`, matched on `wa_id` or `user_id`.
- `value.statuses[]`: delivery events of the business's own messages,
  recipient `recipient_id` or `recipient_user_id`. Kept from each status: its
  `conversation` (`id`, `origin.type`, `expiration_timestamp`; Meta sends it
  under conversation-based pricing and for free entry points) and `pricing`
  (`billable`, `pricing_model` CBP or PMP, `category`, and under PMP `type`:
  regular, free_customer_service, free_entry_point), the business number
  (`metadata.phone_number_id`), the recipient's pseudonym and the recipient's
  country (ISO region of the number, read here before the number is
  pseudonymized: a country is not personal data, the number is; none for a
  `recipient_user_id`).
- `value.errors[]`: errors Meta reports about the number or the app.
- `value.history[]` (field `history`, the up-to-180-day replay sent when a
  WhatsApp Business app number is onboarded to the Cloud API). Assumed shape,
  after Meta's onboarding docs: `history[].metadata` (phase, chunk_order,
  progress), optional `history[].errors[]` (e.g. the owner declined sharing),
  and `history[].threads[]`, each `{"id": <customer wa_id or user_id>,
  "messages": [...]}`. Messages there have the usual message shape plus
  `history_context.status`; they may come from the business itself (then
  `from` is the business number and `to` the customer). The thread id names
  the customer; if it is missing, `to` (business messages) or the sender
  (customer messages) does. `history_context.status` is not turned into a
  status row: it carries no time of its own. Media ids are present only for
  the last 14 days; older media rows simply have no media_id.
- `value.message_echoes[]` (field `smb_message_echoes`): messages the business
  sent from the Business app; sender is the business, customer is `to` /
  `to_user_id`.

Direction: a message is `inbound` when a customer wrote it (`messages`, or a
history message from the customer) and `outbound` when the business did
(`message_echoes`, history messages from the business number, and a
`messages` item whose `from` is the business's own display number). Messages
the business sent through the API reach us only as statuses; their outbound
rows are built from the statuses in the warehouse (dbt `fct_outbound_messages`),
where every status of the id, whatever day it landed, is in view.

Identity: a customer is keyed on `wa_id` when present, else on `user_id`, and
never on a bare phone number taken from free text. The conversation id is
`pseudonyms.id_of(f"wa:{phone_number_id}:{customer_id}", prefix="c_")`; status
rows use the same id for their recipient, so messages and statuses of one chat
share it. Caveat: a customer who is seen first by `wa_id` and later only by
`user_id` gets two conversation ids; linking them needs a mapping kept outside
one body.

Rows: captions are the `text` of media; reactions carry the emoji as `text`
and the reacted message as `reply_to_id`; locations read "name, address
(lat, lon)"; Flow replies (`nfm_reply`) keep their `response_json` as text.
`raw_json` holds the message object for contacts, interactive, system,
unsupported and unknown types (an unknown type is kept as "unsupported", never
dropped) and for any message carrying `errors`. `context.forwarded` has no
column and is not kept. Every error object (top level, in a message, a status
or a history chunk) becomes an `api_errors` row (ApiErrorRecord); a status's
first error also fills its error_code / error_title.

Text a warehouse cannot store (a NUL or a lone surrogate, both reachable
through JSON's `\\u` escapes) is repaired and the message's `text_repairs`
says so; an integer too long for Python's int conversion (4,300 digits) is
kept as its digits, so it cannot discard the message beside it.

Failure handling: a body that is not UTF-8, not JSON, not an object with
`object == "whatsapp_business_account"` or without an `entry` list gives one
quarantine row for the whole body. A malformed entry, change, message or
status gives one quarantine row at its location and the rest of the body is
still read. Messages are deduplicated on their `wamid` and statuses on
(id, status) within a body; across bodies, ingestion does it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from wareader_pipelines.nlp.pii import region_of_phone_digits
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.records import (
    MESSAGE_TYPES,
    ApiErrorRecord,
    MessageRecord,
    QuarantineRecord,
    StatusRecord,
)
from wareader_pipelines.parsing.storable_text import JSON_RISKY_ESCAPE, repair_record

WEBHOOK_OBJECT = "whatsapp_business_account"
EXCERPT_CHARS = 300
WHOLE_BODY = "whole body"

_MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
# The Cloud API's own type names; `deleted` and `media` come only from chat exports.
_MODELLED_TYPES = MESSAGE_TYPES - {"deleted", "media"}
_EMPTY: dict[str, Any] = {}
_NO_ITEMS: list[Any] = []  # shared, never appended to
_NO_NAMES: dict[str, str] = {}  # shared, never written to
_CARRIES_ROWS = frozenset({"messages", "statuses", "history", "message_echoes"})
# WhatsApp did not exist before 2009; a later bound catches millisecond timestamps.
_EARLIEST_SECONDS = 1_230_768_000  # 2009-01-01T00:00:00Z
_LATEST_SECONDS = 4_102_444_800  # 2100-01-01T00:00:00Z
# Longer integers are kept as their digits: int() refuses over 4,300 digits (CVE-2020-10735).
_MAX_INT_DIGITS = 4000
_INT32 = range(-(2**31), 2**31)  # error codes are stored in an INTEGER column
INBOUND = "inbound"
OUTBOUND = "outbound"
# Pseudonym prefix of people; the same as cleaning's sender ids, so a customer's inbound
# messages and the statuses of what the business sent them share one id.
PERSON_PREFIX = "u_"

# The region of a recipient number, cached: a business writes to the same customers all day.
_region_of = lru_cache(maxsize=100_000)(region_of_phone_digits)


@dataclass(slots=True)
class WebhookParseResult:
    """Everything one webhook body yields, row lists ready for `frame_of`."""

    messages: list[MessageRecord] = field(default_factory=list)
    statuses: list[StatusRecord] = field(default_factory=list)
    errors: list[ApiErrorRecord] = field(default_factory=list)
    quarantine: list[QuarantineRecord] = field(default_factory=list)


def parse_webhook_body(
    body: bytes,
    *,
    source_file: str,
    landed_at: datetime,
    pseudonyms: Pseudonymizer,
) -> WebhookParseResult:
    """The messages, statuses, errors and quarantined parts of one raw webhook body.

    Never raises on bad input: what cannot be read becomes a quarantine row,
    so one broken delivery cannot stop a partition.
    """
    parser = _BodyParser(
        source_file=source_file, landed_at=landed_at, pseudonyms=pseudonyms, body=body
    )
    payload = parser.payload_of(body)
    if payload is not None:
        parser.read_payload(payload)
    parser.repair_text()
    return parser.result


@dataclass(slots=True)
class _Change:
    """What every item of one `changes[].value` shares."""

    phone_number_id: str
    business_number: str | None  # metadata.display_phone_number, digits only
    names: dict[str, str]  # wa_id and user_id -> profile name


class _BodyParser:
    """Walks one decoded body and fills a WebhookParseResult; one instance per body."""

    __slots__ = (
        "_body",
        "_body_digest",
        "_landed_at",
        "_pseudonyms",
        "_risky_text",
        "_seen_messages",
        "_seen_statuses",
        "_source_file",
        "result",
    )

    def __init__(
        self, *, source_file: str, landed_at: datetime, pseudonyms: Pseudonymizer, body: bytes
    ):
        self._body = body
        self._body_digest: str | None = None  # computed only for a body with account errors
        self._source_file = source_file
        self._landed_at = landed_at
        self._pseudonyms = pseudonyms
        self._seen_messages: set[str] = set()
        self._seen_statuses: set[tuple[str, str]] = set()
        self._risky_text = False
        self.result = WebhookParseResult()

    # -- whole body ---------------------------------------------------------

    def payload_of(self, body: bytes) -> dict[str, Any] | None:
        """The decoded body, or None after quarantining it whole."""
        try:
            # orjson decodes a well-formed body ~5x faster than the standard library.
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            # Anything orjson refuses (bad UTF-8 or JSON, but also NaN, lone surrogates or
            # integers beyond 64 bits, which the standard library accepts) takes the standard
            # library's path below, so results and quarantine reasons stay the same.
            pass
        else:
            if (
                isinstance(payload, dict)
                and payload.get("object") == WEBHOOK_OBJECT
                and isinstance(payload.get("entry"), list)
            ):
                # orjson refuses lone surrogates, so only an escaped NUL can need a repair (an
                # escaped backslash before "u0000" only costs a walk that changes nothing).
                self._risky_text = b"\\u0000" in body
                return payload
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            excerpt = body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
            self._quarantine(
                WHOLE_BODY, f"body is not UTF-8 ({exc.reason} at byte {exc.start})", excerpt
            )
            return None
        self._risky_text = "\\u" in text and JSON_RISKY_ESCAPE.search(text) is not None
        try:
            payload = json.loads(text)
        except ValueError:
            try:  # an integer over int()'s digit limit; any other error recurs here
                payload = json.loads(text, parse_int=_bounded_int)
            except (ValueError, RecursionError) as exc:
                self._quarantine(WHOLE_BODY, f"body is not valid JSON: {exc}", text)
                return None
        except RecursionError as exc:
            self._quarantine(WHOLE_BODY, f"body is not valid JSON: {exc}", text)
            return None
        if not isinstance(payload, dict):
            reason = f"body is a JSON {type(payload).__name__}, not an object"
            self._quarantine(WHOLE_BODY, reason, text)
            return None
        if payload.get("object") != WEBHOOK_OBJECT:
            reason = f"body's object is {payload.get('object')!r}, not {WEBHOOK_OBJECT!r}"
            self._quarantine(WHOLE_BODY, reason, text)
            return None
        if not isinstance(payload.get("entry"), list):
            self._quarantine(WHOLE_BODY, "body has no 'entry' list", text)
            return None
        return payload

    def read_payload(self, payload: dict[str, Any]) -> None:
        """Read every entry and change of a body that passed `payload_of`."""
        for e, entry in enumerate(payload["entry"]):
            changes = entry.get("changes") if isinstance(entry, dict) else None
            if not isinstance(changes, list):
                self._quarantine(f"entry[{e}]", "entry has no 'changes' list", _excerpt_of(entry))
                continue
            for c, change in enumerate(changes):
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict):
                    where = f"entry[{e}].changes[{c}]"
                    self._quarantine(where, "change has no 'value' object", _excerpt_of(change))
                    continue
                self._read_value(value, f"entry[{e}].changes[{c}].value")

    def _read_value(self, value: dict[str, Any], where: str) -> None:
        metadata = value.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else _EMPTY
        phone_number_id = metadata.get("phone_number_id")
        if not (isinstance(phone_number_id, str) and phone_number_id):
            phone_number_id = None
            if _CARRIES_ROWS & value.keys():
                self._quarantine(
                    where,
                    "value has no metadata.phone_number_id, so its conversations cannot be keyed",
                    _excerpt_of(value),
                )
                return
        display = metadata.get("display_phone_number")
        if isinstance(display, str) and not display.isdigit():
            display = "".join(ch for ch in display if ch.isdigit())
        change = _Change(
            phone_number_id=phone_number_id or "",
            business_number=display if isinstance(display, str) and display else None,
            # statuses come without contacts: no dict to build for them
            names=_names_of(contacts) if (contacts := value.get("contacts")) else _NO_NAMES,
        )
        items = self._items_of
        # Each key is looked up once; most values carry only messages or only statuses.
        if "errors" in value:
            for i, err in enumerate(items(value, "errors", where)):
                self._error(err, f"{where}.errors[{i}]", phone_number_id, "value", None, None, None)
        if "messages" in value:
            for i, msg in enumerate(items(value, "messages", where)):
                self._message(
                    msg, f"{where}.messages[{i}]", change, thread_customer=None, echo=False
                )
        if "message_echoes" in value:
            for i, msg in enumerate(items(value, "message_echoes", where)):
                self._message(
                    msg, f"{where}.message_echoes[{i}]", change, thread_customer=None, echo=True
                )
        if "history" in value:
            for i, chunk in enumerate(items(value, "history", where)):
                self._history_chunk(chunk, f"{where}.history[{i}]", change)
        if "statuses" in value:
            for i, status in enumerate(items(value, "statuses", where)):
                self._status(status, f"{where}.statuses[{i}]", change)

    def _items_of(self, container: dict[str, Any], key: str, where: str) -> list[Any]:
        """`container[key]` as a list: empty when absent, quarantined when not a list."""
        items = container.get(key)
        if items is None:
            return _NO_ITEMS
        if isinstance(items, list):
            return items
        self._quarantine(f"{where}.{key}", f"'{key}' is not a list", _excerpt_of(items))
        return []

    def _history_chunk(self, chunk: Any, where: str, change: _Change) -> None:
        if not isinstance(chunk, dict):
            self._quarantine(where, "history chunk is not an object", _excerpt_of(chunk))
            return
        for i, err in enumerate(self._items_of(chunk, "errors", where)):
            where_err = f"{where}.errors[{i}]"
            self._error(err, where_err, change.phone_number_id, "history", None, None, None)
        for t, thread in enumerate(self._items_of(chunk, "threads", where)):
            thread_where = f"{where}.threads[{t}]"
            if not isinstance(thread, dict):
                self._quarantine(
                    thread_where, "history thread is not an object", _excerpt_of(thread)
                )
                continue
            customer = thread.get("id") or thread.get("user_id")
            customer = customer if isinstance(customer, str) else None
            for m, msg in enumerate(self._items_of(thread, "messages", thread_where)):
                self._message(
                    msg,
                    f"{thread_where}.messages[{m}]",
                    change,
                    thread_customer=customer,
                    echo=False,
                )

    # -- messages -----------------------------------------------------------

    def _message(
        self,
        msg: Any,
        where: str,
        change: _Change,
        *,
        thread_customer: str | None,
        echo: bool,
    ) -> None:
        if not isinstance(msg, dict):
            self._quarantine(where, "message is not an object", _excerpt_of(msg))
            return
        message_id = msg.get("id")
        if not isinstance(message_id, str) or not message_id:
            self._quarantine(where, "message has no id", _excerpt_of(msg))
            return
        if message_id in self._seen_messages:
            return
        sent_at = _utc_of(msg.get("timestamp"))
        if sent_at is None:
            reason = f"message {message_id} has a bad timestamp {msg.get('timestamp')!r}"
            self._quarantine(where, reason, _excerpt_of(msg))
            return
        wa_id = msg.get("from")
        user_id = msg.get("from_user_id")
        sender = wa_id or user_id
        if not isinstance(sender, str):
            self._quarantine(where, f"message {message_id} has no sender", _excerpt_of(msg))
            return

        if echo:
            from_business = True
        elif thread_customer is not None:
            from_business = thread_customer != wa_id and thread_customer != user_id
        else:
            from_business = change.business_number is not None and wa_id == change.business_number
        if from_business:
            customer = thread_customer or msg.get("to") or msg.get("to_user_id")
            sender_name = None
        else:
            customer = thread_customer or sender
            names = change.names
            sender_name = (names.get(wa_id) or names.get(user_id)) if names else None
        if not isinstance(customer, str) or not customer:
            reason = f"message {message_id} names no customer (no 'to' or thread id)"
            self._quarantine(where, reason, _excerpt_of(msg))
            return

        conversation_name = change.names.get(customer) if change.names else None
        self._seen_messages.add(message_id)
        pseudonyms = self._pseudonyms
        record = MessageRecord(
            message_id=message_id,
            conversation_id=pseudonyms.id_of(
                f"wa:{change.phone_number_id}:{customer}", prefix="c_"
            ),
            source="webhook",
            sender_wa_id=sender,
            sender_name=sender_name,
            sent_at=sent_at,
            message_type="text",
            text=None,
            media_id=None,
            media_mime=None,
            reply_to_id=None,
            is_system=False,
            is_edited=False,
            source_file=self._source_file,
            location=where,
            conversation_name=conversation_name,
            direction=OUTBOUND if from_business else INBOUND,
            business_number_id=change.phone_number_id,
            customer_id=pseudonyms.id_of(customer, prefix=PERSON_PREFIX),
        )
        _fill_content(record, msg)
        context = msg.get("context")
        if isinstance(context, dict) and record.reply_to_id is None:
            reply_to = context.get("id")
            record.reply_to_id = reply_to if isinstance(reply_to, str) else None
        errors = self._items_of(msg, "errors", where)
        if errors:
            if record.raw_json is None:
                record.raw_json = _json_of(msg)
            for i, err in enumerate(errors):
                self._error(
                    err,
                    f"{where}.errors[{i}]",
                    change.phone_number_id,
                    "message",
                    sent_at,
                    message_id,
                    None,
                    index=i,
                )
        self.result.messages.append(record)

    # -- statuses and errors ------------------------------------------------

    def _status(self, status: Any, where: str, change: _Change) -> None:
        if not isinstance(status, dict):
            self._quarantine(where, "status is not an object", _excerpt_of(status))
            return
        message_id = status.get("id")
        state = status.get("status")
        if not isinstance(message_id, str) or not message_id:
            self._quarantine(where, "status has no message id", _excerpt_of(status))
            return
        if not isinstance(state, str) or not state:
            self._quarantine(where, f"status of {message_id} has no status", _excerpt_of(status))
            return
        status_at = _utc_of(status.get("timestamp"))
        if status_at is None:
            reason = f"status of {message_id} has a bad timestamp {status.get('timestamp')!r}"
            self._quarantine(where, reason, _excerpt_of(status))
            return
        key = (message_id, state)
        if key in self._seen_statuses:
            return
        self._seen_statuses.add(key)
        recipient = status.get("recipient_id") or status.get("recipient_user_id")
        recipient = recipient if isinstance(recipient, str) and recipient else None
        errors = self._items_of(status, "errors", where)
        first = errors[0] if errors and isinstance(errors[0], dict) else _EMPTY
        title = first.get("title")
        pseudonyms = self._pseudonyms
        record = StatusRecord(
            message_id=message_id,
            status=state,
            status_at=status_at,
            recipient_wa_id=recipient,
            conversation_id=(
                pseudonyms.id_of(f"wa:{change.phone_number_id}:{recipient}", prefix="c_")
                if recipient
                else None
            ),
            error_code=_int_of(first.get("code")),
            error_title=title if isinstance(title, str) else None,
            source_file=self._source_file,
            location=where,
            recipient_id=pseudonyms.id_of(recipient, prefix=PERSON_PREFIX) if recipient else None,
            business_number_id=change.phone_number_id,
            # only a wa_id is a phone number; a user id (recipient_user_id) names no country
            recipient_country=_region_of(recipient) if recipient and recipient.isdigit() else None,
        )
        conversation = status.get("conversation")
        if isinstance(conversation, dict):
            _fill_conversation(record, conversation)
        pricing = status.get("pricing")
        if isinstance(pricing, dict):
            _fill_pricing(record, pricing)
        self.result.statuses.append(record)
        for i, err in enumerate(errors):
            self._error(
                err,
                f"{where}.errors[{i}]",
                change.phone_number_id,
                "status",
                status_at,
                message_id,
                state,
                index=i,
            )

    def _error(
        self,
        err: Any,
        where: str,
        phone_number_id: str | None,
        level: str,
        occurred_at: datetime | None,
        message_id: str | None,
        state: str | None,
        *,
        index: int = 0,
    ) -> None:
        if not isinstance(err, dict):
            self._quarantine(where, "error is not an object", _excerpt_of(err))
            return
        error_data = err.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        title = err.get("title")
        message = err.get("message")
        if message_id is not None:
            # the same message's (or status's) error, whichever body re-delivered it
            error_key = f"{level}:{message_id}:{state or ''}:{index}"
        else:
            # an account-level error has no id of its own: the body's bytes and its place
            if self._body_digest is None:
                self._body_digest = hashlib.sha256(self._body).hexdigest()[:32]
            error_key = f"{level}:{self._body_digest}:{where}"
        self.result.errors.append(
            ApiErrorRecord(
                error_key=error_key,
                level=level,
                code=_int_of(err.get("code")),
                title=title if isinstance(title, str) else None,
                message=message if isinstance(message, str) else None,
                details=details if isinstance(details, str) else None,
                message_id=message_id,
                status=state,
                business_number_id=phone_number_id or None,
                occurred_at=occurred_at,
                landed_at=self._landed_at,
                source_file=self._source_file,
                location=where,
            )
        )

    def repair_text(self) -> None:
        """Make every row's text storable; messages note it in `text_repairs`.

        Only bodies holding a JSON escape that can decode to NUL or a surrogate
        are walked; quarantine rows always are (their excerpts are raw text).
        """
        if self._risky_text:
            for message in self.result.messages:
                repair_record(message, note_field="text_repairs")
            for status in self.result.statuses:
                repair_record(status)
            for error in self.result.errors:
                repair_record(error)
        for rejected in self.result.quarantine:
            repair_record(rejected)

    def _quarantine(self, where: str, reason: str, excerpt: str) -> None:
        self.result.quarantine.append(
            QuarantineRecord(
                source_file=self._source_file,
                location=where,
                reason=reason,
                excerpt=excerpt[:EXCERPT_CHARS],
                landed_at=self._landed_at,
            )
        )


# -- a status's conversation and pricing -------------------------------------


def _fill_conversation(record: StatusRecord, conversation: dict[str, Any]) -> None:
    """Meta's conversation id, its origin type and its expiry, as far as the status has them."""
    record.conversation_id_meta = _str_of(conversation.get("id"))
    origin = conversation.get("origin")
    if isinstance(origin, dict):
        record.conversation_origin = _str_of(origin.get("type"))
    record.conversation_expires_at = _utc_of(conversation.get("expiration_timestamp"))


def _fill_pricing(record: StatusRecord, pricing: dict[str, Any]) -> None:
    """Billable flag, pricing model, category and (PMP) pricing type of one status."""
    billable = pricing.get("billable")
    record.pricing_billable = billable if isinstance(billable, bool) else None
    record.pricing_model = _str_of(pricing.get("pricing_model"))
    record.pricing_category = _str_of(pricing.get("category"))
    record.pricing_type = _str_of(pricing.get("type"))


# -- content of one message, by type ---------------------------------------


def _fill_content(record: MessageRecord, msg: dict[str, Any]) -> None:
    """Set type, text, media and raw_json of `record` from the message's typed content."""
    kind = msg.get("type")
    content = msg.get(kind) if isinstance(kind, str) else None
    body = content if isinstance(content, dict) else _EMPTY
    if kind == "text":
        record.text = _str_of(body.get("body"))
    elif kind in _MEDIA_TYPES:
        record.message_type = kind
        record.text = _str_of(body.get("caption"))
        record.media_id = _str_of(body.get("id"))
        record.media_mime = _str_of(body.get("mime_type"))
        record.media_sha256 = _str_of(body.get("sha256"))
        record.media_filename = _str_of(body.get("filename"))
    elif kind == "reaction":
        record.message_type = kind
        record.text = _str_of(body.get("emoji"))  # absent or "" when a reaction is removed
        record.reply_to_id = _str_of(body.get("message_id"))
    elif kind == "location":
        record.message_type = kind
        record.text = _location_text_of(body)
    elif kind == "interactive":
        record.message_type = kind
        record.text = _interactive_text_of(body)
        record.raw_json = _json_of(msg)
    elif kind == "button":
        record.message_type = kind
        record.text = _str_of(body.get("text")) or _str_of(body.get("payload"))
    elif kind == "contacts":
        record.message_type = kind
        record.text = _contacts_text_of(content)
        record.raw_json = _json_of(msg)
    elif kind == "system":
        record.message_type = kind
        record.is_system = True
        record.text = _str_of(body.get("body"))
        record.raw_json = _json_of(msg)
    else:  # "unsupported", or a type we do not model yet: keep it whole, never drop it
        record.message_type = "unsupported"
        record.raw_json = _json_of(msg)


def _location_text_of(body: dict[str, Any]) -> str | None:
    """'name, address (lat, lon)', leaving out what the location does not have."""
    place = ", ".join(p for p in (_str_of(body.get("name")), _str_of(body.get("address"))) if p)
    lat, lon = body.get("latitude"), body.get("longitude")
    point = f"({lat}, {lon})" if lat is not None and lon is not None else ""
    return " ".join(p for p in (place, point) if p) or None


def _interactive_text_of(body: dict[str, Any]) -> str | None:
    """The title the customer tapped (button or list), or a Flow reply's answers as JSON."""
    kind = body.get("type")
    reply = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(reply, dict):
        return None
    if kind == "nfm_reply":  # a Flow's answers; its "body" is boilerplate ("Sent")
        return _str_of(reply.get("response_json")) or _str_of(reply.get("body"))
    return _str_of(reply.get("title"))


def _contacts_text_of(contacts: Any) -> str | None:
    """'Name (phone, phone); Name' for shared contact cards."""
    parts: list[str] = []
    for card in _list_of(contacts):
        if not isinstance(card, dict):
            continue
        name = card.get("name")
        formatted = _str_of(name.get("formatted_name")) if isinstance(name, dict) else None
        phones = [
            p["phone"]
            for p in _list_of(card.get("phones"))
            if isinstance(p, dict) and isinstance(p.get("phone"), str)
        ]
        label = formatted or "contact"
        parts.append(f"{label} ({', '.join(phones)})" if phones else label)
    return "; ".join(parts) or None


# -- small readers ------------------------------------------------------------


def _names_of(contacts: Any) -> dict[str, str]:
    """Profile names of `value.contacts[]`, under both wa_id and user_id."""
    names: dict[str, str] = {}
    for contact in _list_of(contacts):
        if not isinstance(contact, dict):
            continue
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if not isinstance(name, str) or not name:
            continue
        for key in ("wa_id", "user_id"):
            ident = contact.get(key)
            if isinstance(ident, str) and ident:
                names[ident] = name
    return names


def _utc_of(value: Any) -> datetime | None:
    """A unix-seconds timestamp (string or int) as an aware UTC datetime, or None if implausible."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 12):
            return None
        seconds = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        return None
    if not _EARLIEST_SECONDS <= seconds < _LATEST_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _int_of(value: Any) -> int | None:
    """An error code as int (Meta sends ints; strings of digits are accepted); None when it
    is not one or does not fit the 32-bit column."""
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) <= 11:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT32:
        return value
    return None


def _bounded_int(digits: str) -> int | str:
    """A JSON integer as int, or as its digits when int() would refuse it (too long)."""
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else digits


def _str_of(value: Any) -> str | None:
    """`value` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _list_of(value: Any) -> list[Any]:
    """`value` if it is a list, else an empty list (absent or malformed arrays read as empty)."""
    return value if isinstance(value, list) else []


def _json_of(value: Any) -> str:
    """Compact JSON of a decoded object, non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _excerpt_of(value: Any) -> str:
    """At most EXCERPT_CHARS characters of a decoded object, for a quarantine row."""
    try:
        return _json_of(value)[:EXCERPT_CHARS]
    except (TypeError, ValueError):
        return repr(value)[:EXCERPT_CHARS]
