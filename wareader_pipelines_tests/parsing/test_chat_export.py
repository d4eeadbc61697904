"""Chat-export parsing: every layout and quirk, from inline fixtures, the shipped samples and the
peer parsers' fixtures (whatstk, chat-miner) in ../shared/fixtures/peer_exports."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.chat_export import (
    ExportParseResult,
    MediaFile,
    conversation_title_of,
    decided_date_order,
    parse_export,
    safe_member_name,
)
from wareader_pipelines.parsing.records import MESSAGE_TYPES
from wareader_pipelines_tests.zips import zip_of

LANDED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
PSEUDONYMS = Pseudonymizer("test-key")
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EXPORTS = REPO_ROOT / "sample_data" / "landing" / "exports"
LRM, NNBSP, NBSP, THIN = "\u200e", "\u202f", "\u00a0", "\u2009"


def _peer_fixtures() -> Path:
    """The shared peer fixtures: beside the repository (`../shared`), wherever it is checked out."""
    candidates = [parent / "shared/fixtures/peer_exports" for parent in Path(__file__).parents]
    for candidate in candidates:
        if (candidate / "INDEX.md").is_file():
            return candidate
    raise AssertionError(f"peer fixtures not found; looked in {[str(c) for c in candidates]}")


PEERS = _peer_fixtures()
WHATSTK = PEERS / "whatstk/chats/whatsapp"
CHAT_MINER = PEERS / "chat-miner/test/whatsapp"


def parse(
    text: str | bytes,
    name: str = "exports/WhatsApp Chat with Ana.txt",
    **options: str,
) -> ExportParseResult:
    """Parse an inline export with the test key."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_export(name, data, pseudonyms=PSEUDONYMS, landed_at=LANDED, **options)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


# ----------------------------------------------------------------------------- layouts


@pytest.mark.parametrize(
    ("line", "expected_order", "sent_at"),
    [
        # Android en-US: month first, 12 h, U+202F before PM
        (f"5/13/24, 9:05{NNBSP}PM - Ana: hi", "MDY", utc(2024, 5, 13, 21, 5)),
        # U+00A0 and U+2009 before AM/PM, lower case
        (f"5/13/24, 9:05{NBSP}pm - Ana: hi", "MDY", utc(2024, 5, 13, 21, 5)),
        (f"5/13/24, 12:05{THIN}AM - Ana: hi", "MDY", utc(2024, 5, 13, 0, 5)),
        # Android es: day first, "p. m." with NNBSP and NBSP
        (f"13/5/24, 9:05{NNBSP}p.{NBSP}m. - Ana: hi", "DMY", utc(2024, 5, 13, 21, 5)),
        ("13/5/2024, 12:30 a. m. - Ana: hi", "DMY", utc(2024, 5, 13, 0, 30)),
        # iOS de: brackets, dots, seconds
        ("[13.05.24, 21:05:33] Ana: hi", "DMY", utc(2024, 5, 13, 21, 5, 33)),
        # year first with dashes, seconds; with slashes, Android
        ("[2024-05-13, 21:05:33] Ana: hi", "YMD", utc(2024, 5, 13, 21, 5, 33)),
        ("2024/05/13, 21:05 - Ana: hi", "YMD", utc(2024, 5, 13, 21, 5)),
        # dashes day first, two-digit year (whatstk lorem); dots 4-digit year (pokemon)
        ("[13-05-24 21:05:33] Ana: hi", "DMY", utc(2024, 5, 13, 21, 5, 33)),
        ("13.05.2024, 21:05 - Ana: hi", "DMY", utc(2024, 5, 13, 21, 5)),
        # French Android writes "à" between date and time; no comma in chat-miner's bracket form
        ("13/05/2024 à 21:05 - Ana: salut", "DMY", utc(2024, 5, 13, 21, 5)),
        ("[05/13/24 21:05] Ana: hi", "MDY", utc(2024, 5, 13, 21, 5)),
        # a U+200E before the bracket (iOS lines with attachments)
        (f"{LRM}[13/05/2024, 21:05:33] Ana: hi", "DMY", utc(2024, 5, 13, 21, 5, 33)),
    ],
)
def test_each_header_layout_gives_the_local_time_and_the_order(
    line: str, expected_order: str, sent_at: datetime
) -> None:
    result = parse(line + "\n")
    assert result.quarantine == []
    assert result.date_order == expected_order
    (message,) = result.messages
    assert message.sent_at == sent_at
    assert (message.sender_name, message.text, message.message_type) == (
        "Ana",
        message.text,
        "text",
    )
    assert message.text in {"hi", "salut"}


def test_crlf_bom_and_direction_marks_are_removed_but_bodies_are_not_normalized() -> None:
    body = "Olá, café às 9h? Ça va – ﬁne"  # composed accents, a ligature NFKD would split
    data = "\ufeff" + f"{LRM}[13.05.24, 21:05:33] Ana: {body}\r\n[13.05.24, 21:06:00] Ben: ok\r\n"
    result = parse(data.encode("utf-8"))
    assert [m.text for m in result.messages] == [body, "ok"]
    assert result.messages[0].sender_name == "Ana"
    assert all("\r" not in (m.text or "") for m in result.messages)


def test_multi_line_messages_keep_their_newlines() -> None:
    result = parse(
        "13/05/2024, 09:00 - Ana: first line\nsecond line\n\nfourth after a blank\n"
        "13/05/2024, 09:01 - Ben: one line\n"
    )
    assert [m.text for m in result.messages] == [
        "first line\nsecond line\n\nfourth after a blank",
        "one line",
    ]
    assert [m.location for m in result.messages] == ["line 1", "line 5"]


# ----------------------------------------------------------------------------- date order


def test_date_order_is_decided_from_the_whole_file_not_the_first_lines() -> None:
    # The first 30 dates fit both orders; a day > 12 only appears at the end.
    lines = [
        f"0{month}/0{day}/24, 10:00 - Ana: m{month}{day}"
        for month in (1, 2)
        for day in range(1, 10)
    ]
    lines += [f"02/{day}/24, 10:00 - Ana: late" for day in (20, 21)]
    result = parse("\n".join(lines))
    assert result.date_order == "MDY"
    assert result.messages[-1].sent_at == utc(2024, 2, 21, 10)


def test_date_order_from_decreasing_values_when_every_date_fits_both_orders() -> None:
    # 01/05 .. 12/05 then 01/06 ..: the first position runs backwards at the month change
    dates = [(f"{day:02d}", "05", "24") for day in range(1, 13)] + [("01", "06", "24")]
    assert decided_date_order(dates) == "DMY"
    swapped = [(month, day, year) for day, month, year in dates]
    assert decided_date_order(swapped) == "MDY"


def test_date_order_from_which_position_changes_more_often() -> None:
    # no value > 12 and nothing decreases: the day position changes more often
    dates = [("05", f"{day:02d}", "24") for day in (1, 3, 7, 9)] + [("06", "01", "24")]
    assert decided_date_order(dates) == "MDY"
    assert decided_date_order([(b, a, c) for a, b, c in dates]) == "DMY"


def test_date_order_year_first_and_ties() -> None:
    assert decided_date_order([("2024", "05", "13")]) == "YMD"
    assert decided_date_order([("05", "06", "24")]) == "DMY"  # undecidable: the default
    assert decided_date_order([]) == "DMY"


def test_date_order_can_be_forced_per_file() -> None:
    text = "05/06/24, 10:00 - Ana: hi\n"
    assert parse(text).messages[0].sent_at == utc(2024, 6, 5, 10)
    forced = parse(text, date_order="MDY")
    assert forced.date_order == "MDY"
    assert forced.messages[0].sent_at == utc(2024, 5, 6, 10)
    with pytest.raises(ValueError, match="date_order"):
        parse(text, date_order="DDD")


# ----------------------------------------------------------------------------- time zones


def test_local_times_are_read_in_the_export_zone_and_stored_in_utc() -> None:
    result = parse("13/05/2024, 21:05 - Ana: hi\n", timezone="America/Sao_Paulo")
    (message,) = result.messages
    assert message.sent_at == utc(2024, 5, 14, 0, 5)
    assert message.export_timezone == "America/Sao_Paulo" == result.timezone
    with pytest.raises(ValueError, match="timezone"):
        parse("13/05/2024, 21:05 - Ana: hi\n", timezone="Mars/Olympus")


def test_daylight_saving_changes_are_applied_per_message() -> None:
    # Europe/Berlin: 31 March 2024 02:00 CET -> 03:00 CEST; 27 October 03:00 CEST -> 02:00 CET
    result = parse(
        "30/03/2024, 12:00 - Ana: winter\n"
        "31/03/2024, 01:30 - Ana: before the change\n"
        "31/03/2024, 03:30 - Ana: after the change\n"
        "01/04/2024, 12:00 - Ana: summer\n"
        "27/10/2024, 01:30 - Ana: still summer\n"
        "27/10/2024, 03:30 - Ana: winter again\n",
        timezone="Europe/Berlin",
    )
    assert [m.sent_at for m in result.messages] == [
        utc(2024, 3, 30, 11),
        utc(2024, 3, 31, 0, 30),
        utc(2024, 3, 31, 1, 30),
        utc(2024, 4, 1, 10),
        utc(2024, 10, 26, 23, 30),
        utc(2024, 10, 27, 2, 30),
    ]


# ----------------------------------------------------------------------------- system lines


def test_system_lines_with_and_without_the_group_name_as_author() -> None:
    result = parse(
        "[01.05.24, 09:00:00] Familie: ‎Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.\n"
        "[01.05.24, 09:00:01] Familie: ‎Jonas hat die Gruppe „Familie“ erstellt.\n"
        "[01.05.24, 09:00:02] Familie: ‎Jonas hat Ana hinzugefügt.\n"
        "[01.05.24, 09:01:00] Jonas: Hallo!\n"
        "[01.05.24, 09:02:00] Ana: Hi, Jonas: schön\n"
        '[01.05.24, 09:03:00] Ana changed the subject to "Plans: May"\n',
        name="exports/WhatsApp Chat - Familie.txt",
    )
    kinds = [(m.message_type, m.is_system, m.sender_name) for m in result.messages]
    assert kinds == [
        ("system", True, None),
        ("system", True, None),
        ("system", True, None),
        ("text", False, "Jonas"),
        ("text", False, "Ana"),
        ("system", True, None),
    ]
    assert result.messages[0].text == "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt."
    assert result.messages[4].text == "Hi, Jonas: schön"
    assert result.messages[5].text == 'Ana changed the subject to "Plans: May"'


def test_android_author_less_system_lines() -> None:
    result = parse(
        "13/5/24, 9:00 - Los mensajes y las llamadas están cifrados de extremo a extremo.\n"
        '13/5/24, 9:01 - Lucía creó el grupo "Lisboa"\n'
        "13/5/24, 9:02 - Marta se unió usando el enlace de invitación de este grupo\n"
        "13/5/24, 9:03 - Pablo salió del grupo\n"
        "13/5/24, 9:04 - Lucía: ¿Vamos?\n"
    )
    assert [m.message_type for m in result.messages] == ["system"] * 4 + ["text"]
    assert all(m.sender_name is None for m in result.messages[:4])


def test_a_contact_in_a_one_to_one_chat_is_never_taken_for_the_group() -> None:
    # The chat's title is the contact's name. iOS writes the encryption notice under it, and a
    # person's "I left" reads like a group event: neither may turn the contact's messages into
    # system lines.
    ios = parse(
        f"[13/05/2024, 09:00:00] Ana: {LRM}Messages and calls are end-to-end encrypted. No one "
        "outside of this chat, not even WhatsApp, can read or listen to them.\n"
        "[13/05/2024, 09:01:00] Ana: hola\n"
        "[13/05/2024, 09:02:00] Ben: hi\n"
    )
    android = parse(
        "13/05/2024, 09:00 - Ana: I left the keys at home\n"
        "13/05/2024, 09:01 - Ana: ok\n"
        "13/05/2024, 09:02 - Ben: fine\n"
    )
    assert [(m.message_type, m.sender_name) for m in ios.messages] == [
        ("system", None),
        ("text", "Ana"),
        ("text", "Ben"),
    ]
    assert [(m.message_type, m.sender_name) for m in android.messages] == [
        ("text", "Ana"),
        ("text", "Ana"),
        ("text", "Ben"),
    ]


# ----------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    ("body", "message_type", "text", "media_filename"),
    [
        ("<Media omitted>", "media", None, None),
        ("<Multimedia omitido>", "media", None, None),
        ("<Medien ausgeschlossen>", "media", None, None),
        ("<Médias omis>", "media", None, None),
        (f"{LRM}image omitted", "image", None, None),
        ("imagen omitida", "image", None, None),
        (f"{LRM}Bild weggelassen", "image", None, None),
        (f"{LRM}audio omitted", "audio", None, None),
        (f"{LRM}sticker omitted", "sticker", None, None),
        (f"{LRM}video omitted", "video", None, None),
        (
            f"{LRM}<attached: 00000012-PHOTO-2024-05-13-10-15-02.jpg>",
            "image",
            None,
            "00000012-PHOTO-2024-05-13-10-15-02.jpg",
        ),
        (
            f"{LRM}<Anhang: 00000031-AUDIO-2024-05-16-08-45-02.opus>",
            "audio",
            None,
            "00000031-AUDIO-2024-05-16-08-45-02.opus",
        ),
        (
            "<adjunto: 00000040-VIDEO-2024-05-16-19-02-11.mp4>",
            "video",
            None,
            "00000040-VIDEO-2024-05-16-19-02-11.mp4",
        ),
        (
            "<attached: 00000041-STICKER-2024-05-16-19-02-11.webp>",
            "sticker",
            None,
            "00000041-STICKER-2024-05-16-19-02-11.webp",
        ),
        ("<attached: ../../etc/passwd>", "document", None, "passwd"),
        ("IMG-20240513-WA0001.jpg (file attached)", "image", None, "IMG-20240513-WA0001.jpg"),
        (
            "IMG-20240513-WA0001.jpg (file attached)\nthe view",
            "image",
            "the view",
            "IMG-20240513-WA0001.jpg",
        ),
        ("PTT-20240513-WA0002.opus (archivo adjunto)", "audio", None, "PTT-20240513-WA0002.opus"),
        ("Budget 2024.pdf (Datei angehängt)", "document", None, "Budget 2024.pdf"),
        ("STK-20240513-WA0003.webp (fichier joint)", "sticker", None, "STK-20240513-WA0003.webp"),
        (f"{LRM}Budget.pdf • {LRM}2 pages {LRM}document omitted", "document", None, "Budget.pdf"),
        ("This message was deleted", "deleted", None, None),
        ("You deleted this message", "deleted", None, None),
        ("Se eliminó este mensaje", "deleted", None, None),
        (f"{LRM}Diese Nachricht wurde gelöscht.", "deleted", None, None),
        ("Ce message a été supprimé", "deleted", None, None),
        ("the report.pdf (see mail)", "text", "the report.pdf (see mail)", None),
        ("I said <Media omitted> yesterday", "text", "I said <Media omitted> yesterday", None),
    ],
)
def test_markers_in_the_phones_language(
    body: str, message_type: str, text: str | None, media_filename: str | None
) -> None:
    (message,) = parse(f"13/05/2024, 09:00 - Ana: {body}\n").messages
    assert message.message_type in MESSAGE_TYPES
    assert (message.message_type, message.text, message.media_filename) == (
        message_type,
        text,
        media_filename,
    )
    assert message.is_system is False
    if media_filename and media_filename.endswith(".jpg"):
        assert message.media_mime == "image/jpeg"


@pytest.mark.parametrize(
    "marker",
    [
        " <This message was edited>",
        f" {LRM}<This message was edited>",
        " <Se editó este mensaje.>",
        f" {LRM}<Diese Nachricht wurde bearbeitet.>",
        " <Ce message a été modifié>",
    ],
)
def test_edited_marker_sets_is_edited_and_is_removed(marker: str) -> None:
    (message,) = parse(f"13/05/2024, 09:00 - Ana: see you at 10\nnot 9{marker}\n").messages
    assert message.is_edited is True
    assert message.text == "see you at 10\nnot 9"
    assert message.message_type == "text"


# ----------------------------------------------------------------------------- senders, ids


def test_phone_number_authors_get_their_digits_as_wa_id() -> None:
    result = parse(
        "13/05/2024, 09:00 - +1 123 456 789: hi\n"
        "13/05/2024, 09:01 - \u202a+34 612 34 56 78\u202c: hola\n"
        "13/05/2024, 09:02 - Ana: +49 151 2345678 is my number\n"
    )
    assert [(m.sender_name, m.sender_wa_id) for m in result.messages] == [
        ("+1 123 456 789", "1123456789"),
        ("+34 612 34 56 78", "34612345678"),
        ("Ana", None),
    ]


def test_conversation_id_comes_from_the_chat_title_in_the_file_name() -> None:
    assert conversation_title_of("exports/WhatsApp Chat with Ana.txt") == "Ana"
    assert conversation_title_of("exports/WhatsApp Chat - Família Silva.zip") == "Família Silva"
    assert conversation_title_of("exports/WhatsApp Chat with Ana (1).zip") == "Ana"
    assert conversation_title_of("exports/Chat de WhatsApp con Viaje Lisboa.txt") == "Viaje Lisboa"
    line = "13/05/2024, 09:00 - Ana: hi\n"
    ids = {
        parse(line, name=name).messages[0].conversation_id
        for name in (
            "exports/WhatsApp Chat with Ana.txt",
            "exports/2024/WhatsApp Chat with ana.zip"[:-4] + ".txt",
            "exports/WhatsApp Chat with Ana (2).txt",
        )
    }
    assert len(ids) == 1
    assert ids.pop().startswith("c_")
    assert parse(line, name="exports/WhatsApp Chat with Ben.txt").messages[0].conversation_id != (
        parse(line).messages[0].conversation_id
    )


def test_ids_are_stable_across_re_import_and_a_longer_overlapping_export() -> None:
    short = (
        "13/05/2024, 09:00 - Ana: hi\n"
        "13/05/2024, 09:00 - Ana: hi\n"  # the same tuple twice: told apart by occurrence
        "13/05/2024, 09:01 - Ben: two\nlines\n"
        "13/05/2024, 09:02 - Ana: <Media omitted>\n"
    )
    longer = "12/05/2024, 22:00 - Ben: earlier\n" + short + "14/05/2024, 08:00 - Ana: later\n"
    first, again, extended = parse(short), parse(short), parse(longer)
    first_ids = [m.message_id for m in first.messages]
    assert len(set(first_ids)) == 4
    assert first_ids == [m.message_id for m in again.messages]
    assert first_ids == [m.message_id for m in extended.messages[1:5]]
    assert [m.location for m in extended.messages[1:5]] != [m.location for m in first.messages]
    other_chat = parse(short, name="exports/WhatsApp Chat with Ben.txt")
    assert set(first_ids).isdisjoint(m.message_id for m in other_chat.messages)


# ----------------------------------------------------------------------------- zip


def test_zip_media_is_indexed_and_matched_to_messages() -> None:
    photo, voice = b"\xff\xd8\xff\xe0fake-jpeg", b"OggSfake-opus"
    chat = (
        "[13/05/2024, 09:00:00] Ana: ‎<attached: 00000001-PHOTO-2024-05-13-09-00-00.jpg>\n"
        "[13/05/2024, 09:01:00] Ben: ‎<attached: 00000002-AUDIO-2024-05-13-09-01-00.opus>\n"
        "[13/05/2024, 09:02:00] Ana: ‎<attached: 00000003-PHOTO-2024-05-13-09-02-00.jpg>\n"
    )
    data = zip_of(
        {
            "_chat.txt": chat.encode(),
            "00000001-PHOTO-2024-05-13-09-00-00.jpg": photo,
            "media/00000002-AUDIO-2024-05-13-09-01-00.opus": voice,
            "__MACOSX/._00000001-PHOTO-2024-05-13-09-00-00.jpg": b"resource fork",
        }
    )
    result = parse(data, name="exports/WhatsApp Chat - Família Silva.zip")
    assert result.conversation_name == "Família Silva"
    assert sorted(result.media_files, key=lambda m: m.name) == [
        MediaFile(
            "00000001-PHOTO-2024-05-13-09-00-00.jpg", len(photo), hashlib.sha256(photo).hexdigest()
        ),
        MediaFile(
            "00000002-AUDIO-2024-05-13-09-01-00.opus", len(voice), hashlib.sha256(voice).hexdigest()
        ),
    ]
    image, audio, missing = result.messages
    assert (image.message_type, image.media_mime, image.media_bytes) == (
        "image",
        "image/jpeg",
        len(photo),
    )
    assert image.media_sha256 == hashlib.sha256(photo).hexdigest()
    assert (audio.message_type, audio.media_mime, audio.media_sha256) == (
        "audio",
        "audio/ogg",
        hashlib.sha256(voice).hexdigest(),
    )
    assert (missing.media_filename, missing.media_sha256, missing.media_bytes) == (
        "00000003-PHOTO-2024-05-13-09-02-00.jpg",
        None,
        None,
    )
    assert all(
        m.source_file == "exports/WhatsApp Chat - Família Silva.zip" for m in result.messages
    )


def test_zip_slip_member_names_are_reduced_to_base_names() -> None:
    assert safe_member_name("../../etc/passwd") == "passwd"
    assert safe_member_name("/abs/path/photo.jpg") == "photo.jpg"
    assert safe_member_name("..\\..\\windows\\evil.jpg") == "evil.jpg"
    assert safe_member_name("C:evil.jpg") == "evil.jpg"
    assert safe_member_name("dir/") is None
    assert safe_member_name("../..") is None
    assert safe_member_name("a/\x00\x1f.") is None
    data = zip_of(
        {
            "_chat.txt": b"[13/05/2024, 09:00:00] Ana: <attached: evil.jpg>\n",
            "../../evil.jpg": b"payload",
        }
    )
    result = parse(data, name="exports/WhatsApp Chat - X.zip")
    assert [m.name for m in result.media_files] == ["evil.jpg"]
    assert result.messages[0].media_sha256 == hashlib.sha256(b"payload").hexdigest()


def test_zip_without_chat_or_damaged_is_quarantined_whole() -> None:
    for data in (zip_of({"photo.jpg": b"x"}), zip_of({"_chat.txt": b"x"})[:30]):
        result = parse(data, name="exports/WhatsApp Chat - X.zip")
        assert result.messages == []
        (row,) = result.quarantine
        assert row.location == "whole file"
        assert "zip" in row.reason
        assert row.landed_at == LANDED


# ----------------------------------------------------------------------------- quarantine


def test_bad_lines_are_quarantined_and_the_rest_is_kept() -> None:
    result = parse(
        "Some text someone pasted on top\n"
        "31/05/2024, 09:00 - Ana: fine\n"
        "31/02/2024, 09:01 - Ana: impossible date\n"
        "with a second line\n"
        "31/05/2024, 25:10 - Ana: impossible time\n"
        "31/05/2024, 09:02 - Ben: also fine\n",
        name="exports/x.txt",
    )
    assert [m.text for m in result.messages] == ["fine", "also fine"]
    rows = [(q.location, q.source_file) for q in result.quarantine]
    assert rows == [
        ("line 1", "exports/x.txt"),
        ("line 3", "exports/x.txt"),
        ("line 5", "exports/x.txt"),
    ]
    assert "before the first message header" in result.quarantine[0].reason
    assert "impossible date" in result.quarantine[1].reason
    assert (
        result.quarantine[1].excerpt
        == "31/02/2024, 09:01 - Ana: impossible date\nwith a second line"
    )
    assert "impossible time" in result.quarantine[2].reason
    assert all(q.landed_at == LANDED for q in result.quarantine)


def test_undecodable_bytes_quarantine_their_message_only() -> None:
    data = (
        b"13/05/2024, 09:00 - Ana: good\n"
        b"13/05/2024, 09:01 - Ana: bad \xff\xfe bytes\n"
        b"13/05/2024, 09:02 - Ana: good again\n"
    )
    result = parse(data)
    assert [m.text for m in result.messages] == ["good", "good again"]
    (row,) = result.quarantine
    assert row.location == "line 2"
    assert "not UTF-8" in row.reason


def test_twelve_hour_header_without_am_pm_is_quarantined() -> None:
    result = parse("5/13/24, 9:05 PM - Ana: a\n5/13/24, 9:06 - Ana: b\n5/13/24, 9:07 PM - Ana: c\n")
    assert [m.text for m in result.messages] == ["a", "c"]
    assert [q.location for q in result.quarantine] == ["line 2"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"date,time,author,text\n2024-05-13,09:00,Ana,hi\n", "message header"),
        (b"Lorem ipsum dolor sit amet.\nNothing here looks like a chat.\n", "message header"),
        (b"", "message header"),
    ],
)
def test_a_file_that_is_not_an_export_is_quarantined_whole(data: bytes, reason: str) -> None:
    result = parse(data, name="exports/notes.txt")
    assert result.messages == []
    (row,) = result.quarantine
    assert (row.source_file, row.location) == ("exports/notes.txt", "whole file")
    assert reason in row.reason


# ----------------------------------------------------------------------------- shipped samples


def test_shipped_samples_cover_the_formats_and_the_month() -> None:
    results = {
        path.name: parse(path.read_bytes(), name=f"exports/{path.name}")
        for path in sorted(SAMPLE_EXPORTS.iterdir())
    }
    exports = {name: r for name, r in results.items() if r.messages}
    assert len(exports) >= 6
    for name, result in exports.items():
        assert 60 <= len(result.messages) <= 200, name
        assert all(m.sent_at.year == 2024 and m.sent_at.month == 5 for m in result.messages), name
        types = Counter(m.message_type for m in result.messages)
        assert types["system"] >= 1 and types["deleted"] >= 1, name
        assert any(m.is_edited for m in result.messages), name
        assert any("\n" in (m.text or "") for m in result.messages), name
        assert len({m.message_id for m in result.messages}) == len(result.messages), name
    assert {r.date_order for r in exports.values()} == {"DMY", "MDY", "YMD"}
    zipped = results["WhatsApp Chat - Família Silva.zip"]
    assert len(zipped.media_files) == 3
    assert sum(m.media_sha256 is not None for m in zipped.messages) == 3
    bad = results["WhatsApp Chat with Ana.txt"].quarantine
    assert len(bad) == 2
    (not_a_chat,) = results["notes-not-a-chat.txt"].quarantine
    assert not_a_chat.location == "whole file"


# ----------------------------------------------------------------------------- peer fixtures


@pytest.mark.parametrize(
    ("file_name", "count", "order"),
    [
        ("pokemon.txt", 20, "DMY"),
        ("lorem.txt", 500, "DMY"),
        ("lorem-merge-part1.txt", 300, "YMD"),
        ("lorem-merge-part2.txt", 300, "YMD"),
        ("lorem-2000.txt", 2000, "YMD"),
    ],
)
def test_whatstk_fixtures_give_the_expected_counts(file_name: str, count: int, order: str) -> None:
    result = parse((WHATSTK / file_name).read_bytes(), name=f"exports/{file_name}")
    assert result.quarantine == []
    assert len(result.messages) == count
    assert result.date_order == order
    phone_rows = [m for m in result.messages if m.sender_name == "+1 123 456 789"]
    assert all(m.sender_wa_id == "1123456789" for m in phone_rows)


def test_whatstk_pokemon_group_name_rows_are_system() -> None:
    result = parse((WHATSTK / "pokemon.txt").read_bytes(), name="exports/pokemon.txt")
    lines = (WHATSTK / "pokemon.txt").read_text().splitlines()
    group_lines = {f"line {i + 1}" for i, line in enumerate(lines) if " - Pokemon Chat: " in line}
    assert group_lines
    for message in result.messages:
        if message.location in group_lines:
            assert (message.message_type, message.is_system) == ("system", True)
    assert [m.message_type for m in result.messages].count("system") == 2
    assert result.messages[2].sender_name == "Ash Ketchum"
    assert result.messages[2].sent_at == utc(2016, 8, 6, 13, 23)


CHAT_MINER_FILES = [
    "test_ddmmyy_24hrs.txt",
    "test_mmddyy_24hrs.txt",
    "test_mmddyyyy_12hrs.txt",
    "test_yyyymmdd_24hrs.txt",
    "test_[mmddyy]_24hrs.txt",
]


@pytest.mark.parametrize("file_name", CHAT_MINER_FILES)
def test_chat_miner_fixtures_match_their_target(file_name: str) -> None:
    result = parse((CHAT_MINER / file_name).read_bytes(), name=f"exports/{file_name}")
    assert result.quarantine == []
    # The files hold 11 lines: 9 headers (7 user messages, 2 system lines) and 2 continuation
    # lines. INDEX.md says "10 raw messages (8 user + 2 system)"; the files have 9.
    assert len(result.messages) == 9
    system = [m for m in result.messages if m.is_system]
    assert [m.text for m in system] == ['+12 345 578 created group "Groupname"', "You were added"]
    users = [m for m in result.messages if not m.is_system]
    assert len(users) == 7
    # chat-miner drops `John Doe:.` (an empty "self-destroying" message); we keep it as ".".
    dot = [m for m in users if m.text == "."]
    assert [(m.sender_name, m.sent_at) for m in dot] == [("John Doe", utc(2019, 1, 20, 11, 23))]
    target = json.loads((CHAT_MINER / "target.json").read_text())
    expected = sorted(
        (datetime.fromisoformat(t["timestamp"]).replace(tzinfo=UTC), t["author"], t["message"])
        for t in target
    )
    ours = sorted(
        (m.sent_at, m.sender_name, (m.text or "").replace("\n", " "))
        for m in users
        if m.text != "."
    )
    assert ours == expected
    assert any("\n" in (m.text or "") for m in users)  # we keep the newline chat-miner joins
