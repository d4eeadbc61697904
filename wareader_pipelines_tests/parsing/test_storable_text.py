"""Text a warehouse cannot store is repaired where it is read, and the row says so."""

from __future__ import annotations

from wareader_pipelines.parsing.storable_text import is_storable, repair_record, storable
from wareader_pipelines_tests.parsing.test_chat_export import parse
from wareader_pipelines_tests.parsing.test_webhook_payload import body_of, message, parsed


def test_storable_removes_nul_and_replaces_lone_surrogates() -> None:
    assert storable("plain ✓ 😀") == ("plain ✓ 😀", None)
    text, note = storable("a\x00b \ud800 c\udfff")
    assert text == "ab \ufffd c\ufffd"
    assert note == "1 NUL removed, 2 lone surrogates replaced by U+FFFD"
    assert is_storable(text) and not is_storable("x\x00")
    text.encode("utf-8")  # what DuckDB does; it raised on the surrogate


def test_a_record_notes_each_repaired_field() -> None:
    record = parsed(body_of({"messages": [message("text", {"body": "ok"})]})).messages[0]
    record.text, record.sender_name = "bad \ud800", "A\x00na"
    summary = repair_record(record, note_field="text_repairs")
    assert (record.text, record.sender_name) == ("bad \ufffd", "Ana")
    assert summary == record.text_repairs
    assert "text: 1 lone surrogate replaced" in summary and "sender_name: 1 NUL removed" in summary


def test_webhook_text_with_a_lone_surrogate_or_nul_is_kept_repaired() -> None:
    surrogate = body_of({"messages": [message("text", {"body": "x"}, mid="wamid.S")]})
    surrogate = surrogate.replace(b'"body": "x"', b'"body": "bad \\ud800 surrogate"')
    nul = body_of({"messages": [message("text", {"body": "x"}, mid="wamid.N")]})
    nul = nul.replace(b'"body": "x"', b'"body": "a\\u0000b"')
    (bad_surrogate,) = parsed(surrogate).messages
    (bad_nul,) = parsed(nul).messages
    assert bad_surrogate.text == "bad \ufffd surrogate"
    assert bad_surrogate.text_repairs == "text: 1 lone surrogate replaced by U+FFFD"
    assert (bad_nul.text, bad_nul.text_repairs) == ("ab", "text: 1 NUL removed")


def test_paired_surrogate_escapes_are_an_emoji_not_a_repair() -> None:
    body = body_of({"messages": [message("text", {"body": "😀"})]})
    assert b"\\ud83d\\ude00" in body  # json.dumps escapes it, as Meta does
    (record,) = parsed(body).messages
    assert (record.text, record.text_repairs) == ("😀", None)


def test_a_huge_integer_does_not_discard_the_message_beside_it() -> None:
    good = message("text", {"body": "still here"}, mid="wamid.G")
    odd = message("location", {"latitude": 1, "longitude": 2}, mid="wamid.L")
    body = body_of({"messages": [good, odd]}).replace(
        b'"latitude": 1', b'"latitude": ' + b"7" * 5000
    )
    result = parsed(body)
    assert result.quarantine == []
    assert [m.message_id for m in result.messages] == ["wamid.G", "wamid.L"]
    assert result.messages[0].text == "still here"
    assert result.messages[1].text.startswith("(7777")


def test_huge_numbers_as_error_codes_and_timestamps_are_not_taken_as_values() -> None:
    status = {
        "id": "wamid.O",
        "status": "failed",
        "timestamp": "1714557600",
        "recipient_id": "14155550123",
        "errors": [{"code": 2**40, "title": "x"}],
    }
    late = message("text", {"body": "x"}, mid="wamid.T")
    late["timestamp"] = "9" * 5000
    result = parsed(body_of({"statuses": [status], "messages": [late]}))
    assert result.statuses[0].error_code is None  # would overflow the INTEGER column
    assert [q.location.rsplit(".", 1)[-1] for q in result.quarantine] == ["messages[0]"]
    assert "bad timestamp" in result.quarantine[0].reason


def test_a_quarantined_body_with_nul_bytes_has_a_storable_excerpt() -> None:
    result = parsed(b'{"object": \x00 nonsense')
    (row,) = result.quarantine
    assert is_storable(row.excerpt) and is_storable(row.reason)


EXPORT = "13/05/2024, 21:05 - Ana: one\n13/05/2024, 21:06 - Ana: two\x00with a NUL\n" + "".join(
    f"13/05/2024, 21:{10 + n} - Bo: good {n}\n" for n in range(10)
)


def test_a_nul_byte_in_an_export_costs_no_message() -> None:
    result = parse(EXPORT.encode(), name="exports/WhatsApp Chat with Ana.txt")
    assert result.quarantine == []
    assert len(result.messages) == 12
    repaired = [m for m in result.messages if m.text_repairs]
    assert [(m.text, m.text_repairs) for m in repaired] == [
        ("twowith a NUL", "NUL removed from the message's lines")
    ]
    assert all(is_storable(m.text or "") for m in result.messages)


def test_a_binary_file_is_still_rejected_whole() -> None:
    data = b"13/05/2024, 21:05 - Ana: one\n" + b"\x00\x01\x02\x03" * 500  # 25% NUL
    result = parse(data, name="exports/blob.txt")
    assert result.messages == [] and "binary" in result.quarantine[0].reason
