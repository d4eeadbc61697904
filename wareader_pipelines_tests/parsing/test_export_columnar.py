"""The whole-block parser gives the line parser's rows, row for row (issue 13).

`parse_export_batches(columnar=True)` finds headers a block of text at a time and builds
Arrow columns; the line parser builds one record per message. Both are run on every
generated language and layout (group and one-to-one chats, zips with media) and on
hand-written tricky files, also with blocks of a few dozen bytes so that messages, lines
and characters are cut across blocks, and their messages, quarantine rows and decisions
must be equal.
"""

from __future__ import annotations

import io
import itertools
import random
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer
from wareader_pipelines.parsing import chat_export, export_columns, export_text
from wareader_pipelines.parsing import export_markers as markers
from wareader_pipelines.parsing.chat_export import parse_export_batches
from wareader_pipelines.parsing.export_columns import decimal_texts
from wareader_pipelines.parsing.export_limits import ExportLimits
from wareader_pipelines.parsing.export_text import LineBlock
from wareader_pipelines.parsing.record_arrow import MESSAGE_SCHEMA
from wareader_testkit.chat_locales import LANGUAGES
from wareader_testkit.generate_landing import FORMATS, generate_export, generate_landing

LANDED = datetime(2025, 1, 2, tzinfo=UTC)


def _both(
    name: str,
    data: bytes,
    *,
    timezone: str = "UTC",
    limits: ExportLimits | None = None,
    blocks_expected: bool = True,
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """(line parser, whole-block parser) results: messages table, quarantine, decisions."""
    results = []
    for columnar in (False, True):
        opened = parse_export_batches(
            name,
            data,
            pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
            landed_at=LANDED,
            timezone=timezone,
            limits=limits or ExportLimits(),
            columnar=columnar,
        )
        batches = list(opened.batches)
        built_by_blocks = [batch.table is not None for batch in batches]
        assert built_by_blocks == [columnar and blocks_expected] * len(batches)
        table = pa.concat_tables([batch.message_table() for batch in batches])
        quarantine = [row for batch in batches for row in batch.quarantine]
        results.append((table, quarantine, opened.date_order, opened.media_files))
    return results[0], results[1]


def _assert_same(name: str, data: bytes, **options: object) -> int:
    line_parser, block_parser = _both(name, data, **options)  # type: ignore[arg-type]
    (lines, lines_q, *lines_rest), (blocks, blocks_q, *blocks_rest) = line_parser, block_parser
    assert blocks.schema == MESSAGE_SCHEMA
    for column in MESSAGE_SCHEMA.names:
        assert blocks[column].to_pylist() == lines[column].to_pylist(), column
    assert blocks_q == lines_q
    assert blocks_rest == lines_rest
    return lines.num_rows


@pytest.fixture(
    params=[None, 61, "windows"],
    ids=["default blocks", "blocks of 61 bytes", "authors judged 3 headers at a time"],
)
def block_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "windows":  # many of `judge`'s windows in each block
        monkeypatch.setattr(chat_export, "_JUDGED_WINDOW", 3)
    elif request.param is not None:
        monkeypatch.setattr(export_text, "READ_BLOCK", request.param)


@pytest.mark.parametrize(
    ("language", "layout"), list(zip(itertools.cycle(LANGUAGES), FORMATS, strict=False))
)
def test_every_layout_gives_the_same_rows(
    tmp_path: Path, language: str, layout: str, block_size: None
) -> None:
    for group in (True, False):
        path, _ = generate_export(
            tmp_path / f"{group}", messages=400, language=language, layout=layout, group=group
        )
        assert _assert_same(f"exports/{path.name}", path.read_bytes()) > 0


def test_every_language_of_a_generated_zone_gives_the_same_rows(
    tmp_path: Path, block_size: None
) -> None:
    """The zone's exports: every language, zips with media, one-to-one and group chats."""
    generate_landing(tmp_path, messages=3000, webhook_share=0.0)
    exports = sorted((tmp_path / "exports").iterdir())
    assert len(exports) >= len(LANGUAGES)
    for path in exports:
        _assert_same(f"exports/{path.name}", path.read_bytes(), timezone="Europe/Madrid")


TRICKY = "\n".join(
    [
        "13/05/2024, 21:05 - Messages and calls are end-to-end encrypted.",
        "13/05/2024, 21:05 - Ana: hi",
        "",
        "13/05/2024 21:05 - not our layout, so a continuation",
        "   ",
        "",
        "13/05/2024, 21:06 - Ben: <Media omitted>",
        "13/05/2024, 21:06 - Ben: IMG-20240513-WA0001.jpg (file attached)",
        "a caption",
        "13/05/2024, 21:07 - Ana: This message was deleted",
        "13/05/2024, 21:07 - Ana: fixed it <This message was edited>",
        "31/02/2024, 21:08 - Ana: an impossible date",
        "with a second line",
        "13/05/2024, 25:08 - Ana: an impossible time",
        "13/05/2024, 21:09 - Ana:",
        "13/05/2024, 21:09 - Ana:.",
        '13/05/2024, 21:10 - Ana changed the subject to "Plans: May"',
        "13/05/2024, 21:10 - +34 600 123 456: from a number",
        "13/05/2024, 21:11 - Ana: hi",
        "13/05/2024, 21:11 - Ana: hi",
        "13/05/2024, 21:11 - Ana: hi",
        "13/05/9999, 21:12 - Ana: a year no table stores",
        "31/03/2024, 02:30 - Ana: a time the clocks skipped",
        "27/10/2024, 02:30 - Ana: a time the clocks repeated",
        "13/05/2024, 21:13 - Cleo: a third sender",
        "13/05/2024, 21:14 - Dan: one sender too many",
        "١٣/٠٥/٢٠٢٤, 21:15 - Ana: a header in Arabic-Indic digits",
        "\u200e13/05/2024, 21:15 - Ana: a header after a direction mark",
        "¿a continuation line starting with an inverted question mark?",
        "😀 one starting with an emoji, \u200e one with a mark and no digit:",
        "\u200e and no digit",
        "１３/０５/２０２４, 21:15 - Ana: a header in fullwidth digits",
        "13/05/2024, 21:15 - Ana: <Media omitted>",
        "a caption under a marker",
        "13/05/2024, 21:15 - Ana: This message was deleted",
        "13/05/2024, 21:15 - Ana: \u200eimage omitted",
        "13/05/2024, 21:15 - Ana: a > b>",
        "13/05/2024, 21:15 - Ana:  a leading space",
        "13/05/2024, 21:15 - Ana: \u00a0a no-break space",
        "13/05/2024, 21:15 - Ana: \u200fa right-to-left mark",
        "13/05/2024, 21:15 - Ana: ends with (a paren)",
        "but not on its last line",
        "13/05/2024, 21:15 - Ana: a • bullet",
        "13/05/2024, 21:15 - Ana: a bullet on its second line",
        "• here",
        "13/05/2024, 21:15 - Ana: Messages to this chat are now secured",
        "13/05/2024, 21:15 - Ana: Messages I like",
        "13/05/2024, 21:15 - Ana: ",
        "13/05/2024, 21:15 - Ana: hi",
        "13/05/2024, 21:15 - Ana: the last one",
        "its second line",
        "",
        "",
    ]
)


def test_tricky_lines_give_the_same_rows(block_size: None) -> None:
    data = TRICKY.encode()
    for text in (data, data.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + data):
        _assert_same("exports/WhatsApp Chat with Ana.txt", text, timezone="Europe/Madrid")
    limits = ExportLimits(max_authors=3)
    _assert_same("exports/WhatsApp Chat with Ana.txt", data, limits=limits)
    # Rejected lines before the first message wait for its time; with no message, for none.
    rejected = b"31/02/2024, 21:08 - Ana: an impossible date\n13/05/2024, 25:08 - Ben: a time\n"
    _assert_same("exports/WhatsApp Chat with Ana.txt", rejected + data)
    assert _assert_same("exports/WhatsApp Chat with Ana.txt", rejected) == 0
    utf16 = TRICKY.encode("utf-16")
    assert _assert_same("exports/WhatsApp Chat with Ana.txt", utf16) > 10


def test_headers_of_another_shape_give_the_same_rows(block_size: None) -> None:
    """The usual header shape is learnt from the first lines; a header that starts like it
    but goes on (the optional space after "]") or is another width is read as its own."""
    usual = [f"[13/05/2024, 21:{minute:02d}:00]Ana: hi {minute}" for minute in range(40)]
    others = [
        "[13/05/2024, 22:00:00] Ben: a space after the bracket",
        "[13/05/2024, 22:01:00]\u00a0Ana: a no-break space after it",
        "[13/05/2024, 22:02:00]Ben: the usual shape again",
        "[3/5/2024, 22:03:00]Ana: another width",
        "[13/05/2024, 22:04:00]Ana: the last one",
    ]
    for lines in ([*usual, *others], [*usual[:1], *others, *usual[1:]]):
        _assert_same("exports/WhatsApp Chat with Ana.txt", "\n".join(lines).encode() + b"\n")


def test_times_of_the_usual_shape_read_from_their_digits_give_the_same_rows(
    block_size: None,
) -> None:
    """A header of the usual shape has its time read from its digits (HeaderShape.clocks):
    AM/PM turns the hour, and an impossible or ambiguous time is the line parser's
    quarantine row, not a row."""
    day = [
        f"13/05/2024, {hour:02d}:{minute:02d} - Ana: at {hour}:{minute}"
        for hour, minute in [
            (0, 0),
            (9, 5),
            (12, 0),
            (23, 59),
            (24, 0),
            (7, 60),
            (99, 99),
            (10, 30),
        ]
    ]
    _assert_same("exports/WhatsApp Chat with Ana.txt", "\n".join(day).encode() + b"\n")
    times = [(12, 0, "A"), (1, 5, "A"), (11, 59, "P"), (12, 0, "P"), (12, 30, "P"), (13, 5, "P")]
    times += [(0, 0, "A"), (10, 60, "A"), (10, 10, "P")]
    for am in ("AM", "am"):  # each file of one shape, so all its headers are read so
        twelve = [
            f"5/13/24, {hour:02d}:{minute:02d}\u202f{half}{am[1]} - Ben: at {hour}:{minute}"
            for hour, minute, half in times
        ]
        twelve = [
            line if am == "AM" else line.replace("A", "a").replace("P", "p") for line in twelve
        ]
        _assert_same("exports/WhatsApp Chat with Ben.txt", "\n".join(twelve).encode() + b"\n")
    # The first lines (the usual shape) without AM/PM in a file that is mostly 12-hour:
    # their hour is ambiguous.
    bare = [f"5/13/24, 10:{minute:02d} - Ben: bare {minute}" for minute in range(40)]
    mixed = "\n".join([*bare, *twelve * 11])
    _assert_same("exports/WhatsApp Chat with Ben.txt", mixed.encode() + b"\n")


def test_system_lines_read_by_blocks_give_the_same_rows(block_size: None) -> None:
    """System lines (no author on the header line, or the group's own name) are read with
    the person's messages, but those the line parser reads otherwise: a ":" that makes a
    judged author ("Ana:hi"), a text starting with a direction mark."""
    lines = [
        "13/05/2024, 21:05 - Ana: hi",
        "13/05/2024, 21:05 - Ben: hello",
        "13/05/2024, 21:05 - Cleo: hey",
        "13/05/2024, 21:06 - Family: Ana added Dan",
        "13/05/2024, 21:06 - Ana added Eve",
        "13/05/2024, 21:06 - Ana added Eve",
        "13/05/2024, 21:07 - Family: Ben left",
        "13/05/2024, 21:07 - Family: \u200eBen joined using this group's invite link",
        "13/05/2024, 21:08 - Ana:no space after the colon",
        "13/05/2024, 21:08 - Zed:no space, and no such author",
        "13/05/2024, 21:09 - Messages and calls are end-to-end encrypted.",
        "13/05/2024, 21:09 - \u200eCleo created group \u201cFamily\u201d",
        "13/05/2024, 21:10 - <Media omitted>",
        "13/05/2024, 21:10 - Family: Cleo changed this group's icon",
        "and a second line",
        "13/05/2024, 21:11 - Ana changed the group name",
        "over two lines",
        "13/05/2024, 21:12 - Family: Dan removed Eve",
        "13/05/2024, 21:12 - A sender whose name goes on past thirty-two bytes: hi",
        "13/05/2024, 21:12 - Ana changed the group description to a long one, then: a colon",
        "13/05/2024, 21:12 - Al left",
        "13/05/2024, 21:12 - Bo: a short name on the next line",
        "13/05/2024, 21:12 - Ben: the last one",
    ]
    data = "\n".join(lines).encode() + b"\n"
    for name in ("WhatsApp Chat with Family.txt", "WhatsApp Chat with Ana.txt"):
        assert _assert_same(f"exports/{name}", data) == len(lines) - 2  # two go on


def test_edited_messages_read_by_blocks_give_the_same_rows(block_size: None) -> None:
    """A body ending with ">" is typed by `_sender_content` in the block: a text, edited or
    not, is read there with its text (the edit mark cut off), anything else one by one."""
    bodies = [
        "fixed it <This message was edited>",
        "fixed it\u00a0\u200e<This message was edited>",
        "two lines\nthe second <This message was edited>",
        "marked on the first <This message was edited>\nnot the last",
        "Se arregló <Se editó este mensaje.>",
        "ok <ce message a été modifié>",
        "<This message was edited>",
        "<Media omitted> <This message was edited>",
        "IMG-20240513-WA0001.jpg (file attached) <This message was edited>",
        "a (paren) <This message was edited>",
        "a • bullet <This message was edited>",
        "\u200ea mark first <This message was edited>",
        " a space first <This message was edited>",
        "Messages and calls are end-to-end encrypted. <This message was edited>",
        "a > b>",
        "<not a marker>",
        "<Media omitted>",
        "x" * 90 + " <This message was edited>",
    ]
    lines = [f"13/05/2024, 21:{minute:02d} - Ana: {body}" for minute, body in enumerate(bodies)]
    lines += ["13/05/2024, 22:00 - Ben: the last one"]
    data = "\n".join(lines).encode() + b"\n"
    assert _assert_same("exports/WhatsApp Chat with Ana.txt", data) == len(lines)


def test_a_zip_and_files_the_line_parser_keeps_give_the_same_rows(block_size: None) -> None:
    """Text before the first header, NUL and undecodable bytes: the line parser's rows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("WhatsApp Chat with Ana.txt", TRICKY)
        archive.writestr("IMG-20240513-WA0001.jpg", b"jpeg")
    _assert_same("exports/WhatsApp Chat with Ana.zip", buffer.getvalue())
    for odd in (b"leading text\n" + TRICKY.encode(), TRICKY.encode().replace(b"hi", b"h\x00i\xff")):
        _assert_same("exports/WhatsApp Chat with Ana.txt", odd, blocks_expected=False)


def test_plain_messages_do_not_go_through_the_per_message_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingestion's parser reads a person's text messages with Arrow and NumPy a block at a
    time: only the uncommon ones (system lines, edits, attachments, each block's last)
    are read one by one, and the rows are still the line parser's."""
    path, generated = generate_export(tmp_path, messages=3000)
    one_by_one = []
    original = chat_export._ExportParser.one_message

    def counted(self: object, *args: object) -> object:
        one_by_one.append(args[0])
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(chat_export._ExportParser, "one_message", counted)
    rows = _assert_same(f"exports/{path.name}", path.read_bytes())
    assert rows == generated.export_messages
    assert 0 < len(one_by_one) < rows // 5  # the line parser's run does not count


def test_decimal_texts_are_the_join_of_the_prefix_and_the_number() -> None:
    """`decimal_texts` lays "line N" (and a time's bare seconds) out in NumPy when the
    numbers are positive with as many digits (by 32-bit division up to 2**32 - 1, 64-bit
    past it), or in a few runs of as many digits, and is the Arrow join it replaces for any
    numbers (also digits changing more often than `_DECIMAL_RUNS` allows)."""
    rng = np.random.default_rng(5)
    for numbers in (
        list(range(1, 30_164)),  # a file's first block of line numbers: 1 to 5 digits
        list(range(90_000, 107_000)),
        [5, 123, 7, 10**12, 42, 9, 10],
        rng.integers(1, 10**6, 300).tolist(),  # digits change often: the join
        rng.integers(1, 10**6, 7).tolist(),
        [1, 2, 9],
        [10, 57, 99],
        [9, 10],
        [100, 555, 999],
        [1000, 4321, 9999],
        [10000, 98765],
        [123456, 999999],
        [1234567, 7654321],
        [10000000, 12345678],
        [100000000, 987654321, 500000001],
        [99999, 100000],
        [1715634000, 1715637660],  # times of 2024 in epoch seconds
        [4294967294, 4294967295],  # the largest 32-bit numbers, and past them 64-bit ones
        [4294967296, 9999999999],
        [-86400, 3600],  # a time before 1970, and one of its first day
        [0, 5],
        [],
    ):
        array = np.array(numbers, np.int64)
        for prefix in ("line ", ""):
            joined = pc.binary_join_element_wise(prefix, pa.array(array).cast(pa.string()), "")
            assert decimal_texts(array, prefix).equals(joined)
            assert decimal_texts(array, prefix).to_pylist() == [f"{prefix}{n}" for n in numbers]


def _layout_header_by_header(lines: list[str]) -> tuple[tuple[object, ...], int] | None:
    """The layout and first header as `_detected_layout` once counted them, one line at a
    time (None: no export)."""
    styles: Counter[tuple[bool, str, str, str]] = Counter()
    twelve, first, non_empty_before = 0, -1, 0
    for index, line in enumerate(lines):
        found = chat_export._DETECT.match(line)
        if found is None:
            if first < 0 and line.strip():
                non_empty_before += 1
                if non_empty_before > chat_export._LEADING_TEXT_LIMIT:
                    break
            continue
        if first < 0:
            first = index
        close_text = found["close"]
        close = "]" if "]" in close_text else ":" if ":" in close_text else "-"
        styles[(found["open"] is not None, found["sep"], found["tsep"], close)] += 1
        twelve += found["ampm"] is not None
        if sum(styles.values()) >= chat_export._DETECT_SAMPLE:
            break
    if first < 0:
        return None
    (bracketed, sep, tsep, close), _ = styles.most_common(1)[0]
    return (bracketed, sep, tsep, close, twelve * 2 > sum(styles.values())), first


def test_the_layout_counted_a_block_at_a_time_is_the_one_counted_header_by_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_detected_layout` matches a piece of lines at once and counts the styles as written;
    the layout (ties to the style seen first), its 12-hour clock and the first header are
    those of counting header by header, with leading text, blocks cut anywhere and the
    sample reached in the middle of a block. Fails if ties go elsewhere or more (or fewer)
    headers than the sample are counted."""
    monkeypatch.setattr(chat_export, "_DETECT_SAMPLE", 40)
    heads = [
        "01/02/2024, 10:00 - ",
        "[01.02.24, 10:00:00] ",
        "2024-02-01 10.00 - ",
        "1/2/24, 10:00\u202fPM - ",
        "01/02/2024 10:00: ",
        "\u200e[1/2/24 9:00:00 AM] ",
    ]
    others = ["", "  ", "text", "12 apples", "٣/٢/٢٤, ١٠:٠٠ - A: b"]
    rng = random.Random(4)
    for _ in range(400):
        weights = [rng.random() ** 3 for _ in heads]
        lines = [
            rng.choices(heads, weights)[0] + "Ana: hi"
            if rng.random() < 0.85
            else rng.choice(others)
            for _ in range(rng.choice([3, 30, 60, 200]))
        ]
        cuts = sorted(rng.sample(range(1, len(lines)), min(3, len(lines) - 1)))
        blocks = [
            LineBlock(lines[start:end])
            for start, end in zip([0, *cuts], [*cuts, len(lines)], strict=True)
        ]
        expected = _layout_header_by_header(lines)
        if expected is None:
            with pytest.raises(chat_export._NotAnExport):
                chat_export._detected_layout(block for block in blocks)
            continue
        layout, first = chat_export._detected_layout(block for block in blocks)
        found = (layout.bracketed, layout.date_sep, layout.time_sep, layout.close)
        assert ((*found, layout.twelve_hour), first) == expected


def test_slow_keys_merged_at_their_places_are_the_stable_order() -> None:
    """`_merged` puts the slow rows' keys where the stable sort of the rows' positions
    puts them, as reordering the whole list did."""
    rng = random.Random(2)
    for _ in range(200):
        positions = sorted(rng.sample(range(60), rng.randint(0, 40)))
        fast_positions = positions[: rng.randint(0, len(positions))]
        slow_positions = sorted(set(positions) - set(fast_positions))
        if rng.random() < 0.5:
            slow_positions = [-1, *slow_positions]  # the carried message
        fast = [f"f{at}".encode() for at in fast_positions]
        slow = [f"s{at}".encode() for at in slow_positions]
        arrangement = np.argsort(np.array([*fast_positions, *slow_positions]), kind="stable")
        expected = [[*fast, *slow][at] for at in arrangement.tolist()]
        places = np.flatnonzero(arrangement >= len(fast)).tolist()
        assert chat_export._merged(fast, slow, places) == expected


def test_blocks_grow_with_the_text_cap_only_where_its_bound_has_room(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The vectorised parser reads 512 KiB blocks under test_export_memory's 24 MiB cap and
    2 MiB blocks under the default 128 MiB cap, with the same rows either way (blocks of a
    few hundred bytes cut the messages of a generated file at other places)."""
    assert export_text.block_reads(24 * 2**20) == 2
    assert export_text.block_reads(64 * 2**20) == 4
    assert export_text.block_reads(ExportLimits().max_text_bytes) == 8
    assert export_text.block_reads(2**40) == 8
    reads: list[int] = []
    original = export_text.byte_blocks

    def counted(open_raw: Callable[[], BinaryIO], reads_per_block: int = 2) -> Iterator[bytes]:
        reads.append(reads_per_block)
        return original(open_raw, reads_per_block)

    monkeypatch.setattr(chat_export, "byte_blocks", counted)
    monkeypatch.setattr(export_text, "READ_BLOCK", 97)
    path, _ = generate_export(tmp_path, messages=300, seed=5)
    tables = []
    for cap in (24 * 2**20, ExportLimits().max_text_bytes):
        reads.clear()
        limits = ExportLimits(max_text_bytes=cap)
        rows = _assert_same(f"exports/{path.name}", path.read_bytes(), limits=limits)
        assert rows == 300 and set(reads) == {export_text.block_reads(cap)}
        opened = parse_export_batches(
            f"exports/{path.name}",
            path.read_bytes(),
            pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
            landed_at=LANDED,
            limits=limits,
            columnar=True,
        )
        tables.append(pa.concat_tables([batch.message_table() for batch in opened.batches]))
    assert tables[0].equals(tables[1])


def _views_by_windows(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """String views laid out byte by byte (the way `views_of` once did): the length, 12
    bytes inline with the rest zero, or a 4-byte prefix, buffer 0 and the offset."""
    lengths = (ends - starts).astype(np.int32)
    views = np.zeros((len(starts), 16), np.uint8)
    words = views.view(np.int32)
    words[:, 0] = lengths
    inline = np.lib.stride_tricks.sliding_window_view(data, 12)[starts]
    np.multiply(inline, np.arange(12) < lengths[:, None], out=views[:, 4:])
    long = lengths > 12
    words[long, 2] = 0
    words[long, 3] = starts[long]
    return views.tobytes()


def test_views_read_by_words_are_the_views_laid_byte_by_byte() -> None:
    """`views_of` reads each range's first 12 bytes as two words; its views are those laid
    byte by byte, for every length around the 8- and 12-byte edges, ranges at the block's
    end and empty ones, and the strings they give are the ranges' bytes."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        size = int(rng.integers(1, 400))
        chunk = rng.integers(1, 128, size, dtype=np.uint8).tobytes()
        data = export_columns.padded_block(chunk)
        starts = rng.integers(0, size + 1, 64)
        ends = np.minimum(starts + rng.integers(0, 30, 64), size)
        views = export_columns.views_of(pa.py_buffer(data), data, starts, ends)
        assert views.buffers()[1].to_pybytes() == _views_by_windows(data, starts, ends)
        expected = [chunk[start:end].decode() for start, end in zip(starts, ends, strict=True)]
        assert views.cast(pa.string()).to_pylist() == expected


def test_marker_kinds_read_where_length_and_end_bytes_allow_are_index_in_of_all() -> None:
    """`_marker_kinds` asks Arrow's `index_in` only about ranges whose length, first and
    last byte some marker line has; it gives `index_in` of every range."""
    lines = [line.encode() for line in markers.EXACT]
    pieces = [*lines, b"", b"x", b"hola", b"<Media omitted", b"Media omitted>", b"<a>" * 5]
    rng = random.Random(6)
    for _ in range(20):
        chosen = [rng.choice(pieces) for _ in range(1000)]
        chunk = b"\n".join(chosen) + b"\n"
        data = export_columns.padded_block(chunk)
        ends = np.cumsum([len(piece) + 1 for piece in chosen]) - 1
        starts = ends - [len(piece) for piece in chosen]
        buffer = pa.py_buffer(data)
        every = export_columns.slices_of(buffer, data, starts, ends)
        expected = pc.index_in(every, value_set=chat_export._marker_lines()[0]).fill_null(-1)
        kinds = chat_export._marker_kinds(buffer, data, starts, ends)
        assert kinds.tolist() == expected.to_pylist()
        assert (kinds >= 0).sum() > 0


def test_constant_columns_are_the_take_of_one_string() -> None:
    """A file's constant column (`_constant`, laid out as repeated bytes) is Arrow's take of
    the one string, and so are its slices, for empty, ASCII and multi-byte values."""
    for value in ("", "export", "Chat de WhatsApp con Boda.txt", "Ñandú 😀"):
        for count in (0, 1, 7, 5_000):
            built = chat_export._constant(value, count)
            built.validate(full=True)
            taken = pa.array([value], pa.string()).take(np.zeros(count, np.int64))
            assert built.type == pa.string() and built.equals(taken)
            assert built.slice(0, count // 2).equals(taken.slice(0, count // 2))


def test_notice_prefixes_found_by_their_first_word_are_those_a_body_starts_with() -> None:
    """`_odd_bodies` finds a notice's prefix by its first 8 bytes read as one word, then the
    whole prefix: a body is odd exactly when it starts with one (whole, or going on), not
    when it holds one cut short, changed at any byte, or later in the body, also in the
    block's last line. Fails if a byte of a prefix past the word (or in it) is not read."""
    rng = random.Random(11)
    bodies: list[bytes] = []
    for prefix in (text.encode() for text in markers.NOTICE_PREFIXES):
        bodies += [prefix, prefix + b" are end-to-end encrypted", b"x" + prefix, prefix[:-1]]
        for at in range(len(prefix)):
            changed = bytes([prefix[at] ^ 0x20 if prefix[at] != ord(" ") else ord("_")])
            bodies.append(prefix[:at] + changed + prefix[at + 1 :] + b" ok")
    bodies += [b"plain text", b"M", b"Mess"]
    rng.shuffle(bodies)
    for order in (bodies, bodies[::-1]):
        chunk = b"".join(body + b"\n" for body in order)
        starts = np.cumsum([0] + [len(body) + 1 for body in order[:-1]])
        ends = starts + np.array([len(body) for body in order])
        data = export_columns.padded_block(chunk)
        odd, _ = chat_export._odd_bodies(chunk, data, ends, starts, ends)
        expected = [
            any(body.startswith(text.encode()) for text in markers.NOTICE_PREFIXES)
            for body in order
        ]
        assert odd.tolist() == expected


def _shape_of(layout: chat_export._Layout, header: str) -> export_columns.HeaderShape:
    """The HeaderShape `scan` learns from files whose headers are all like `header`."""
    match = layout.header_pattern().match(header + "x")
    assert match is not None
    date_text = match[1]
    clock = header[(1 if layout.bracketed else 0) + len(date_text) :]
    shape = layout.header_shape([date_text], [clock])
    assert shape is not None
    return shape


def test_header_shape_read_by_words_is_the_shape_byte_by_byte() -> None:
    """HeaderShape compares lines with its header and reads dates and times a word of 8
    bytes at a time; that gives the byte-by-byte reading: a line has the shape exactly
    when each literal byte is the header's, each digit an ASCII digit and each AM/PM
    letter one of AaPp; dates are the dictionary encoding of every header's date bytes;
    times are `_clock_of` of the digits. Headers mutated at every byte (also the last
    line of the block, read into the padding) for three layouts."""
    layouts = [
        (chat_export._Layout(False, "/", ":", "-", False), "13/05/2024, 21:05 - "),
        (chat_export._Layout(False, "/", ":", "-", True), "5/13/24, 9:05\u202fPM - "),
        (chat_export._Layout(True, ".", ":", "]", False), "[13.05.24, 21:05:33] "),
    ]
    rng = random.Random(13)
    for layout, example in layouts:
        shape = _shape_of(layout, example)
        header = example.encode()
        lines: list[bytes] = []
        for _ in range(600):
            line = bytearray(header)
            for at in shape.digit_at.tolist():
                line[at] = ord(rng.choice("0123456789"))
            for at in shape.letter_at.tolist():
                line[at] = ord(rng.choice("AaPp"))
            if rng.random() < 0.4:  # one byte changed: to a digit, a letter, a mark or any
                at = rng.randrange(len(line))
                line[at] = rng.choice(
                    [ord(rng.choice("0123456789:/.,-AaPpx ")), rng.randrange(256)]
                )
            cut = len(line) if rng.random() < 0.9 else rng.randrange(len(line))
            lines.append(bytes(line[:cut]) + b"Ana: hi")
        chunk = b"\n".join(lines) + b"\n"
        data = export_columns.padded_block(chunk)
        starts = export_columns.line_starts(data)
        shaped, words = shape.lines(data, starts)
        width = len(header)
        expected = []
        for start in starts[:-1].tolist():
            window = chunk[start : start + width].ljust(width, b"\0")
            expected.append(
                all(window[at] == header[at] for at in shape.literal_at.tolist())
                and all(48 <= window[at] <= 57 for at in shape.digit_at.tolist())
                and all(window[at] in b"AaPp" for at in shape.letter_at.tolist())
            )
        assert shaped.tolist() == expected
        assert 100 < sum(expected) < len(expected)
        at = starts[:-1][shaped]
        assert [word.tolist() for word in words] == [
            word.tolist() for word in shape.words(data, at)
        ]
        date_at, date_first = shape.dates(data, at, words)
        every_at, every_first = export_columns._encoded(
            export_columns._keys(data, at, shape.date_bytes)
        )
        assert date_at.tolist() == every_at.tolist()
        assert date_first.tolist() == every_first.tolist()
        seconds, good = shape.clocks(words, layout.twelve_hour)
        hour_at, minute_at, second_at, letter_at = shape.clock_fields
        for index, start in enumerate(at.tolist()):

            def text(places: tuple[int, ...], start: int = start, chunk: bytes = chunk) -> str:
                return "".join(chr(chunk[start + place]) for place in places)

            letter = None if letter_at is None else chr(chunk[start + letter_at])
            want, problem = chat_export._clock_of(
                text(hour_at), text(minute_at), text(second_at) or None, letter, layout.twelve_hour
            )
            assert (bool(good[index]), int(seconds[index]) if good[index] else 0) == (
                problem is None,
                want,
            )


def test_odd_bodies_read_from_words_and_found_bullets_are_those_of_each_body() -> None:
    """`_odd_bodies` reads a body's first bytes from its first word, its last byte once for
    every test, and finds "•" with bytes.find on the bullet's last byte (NumPy over the
    block when that byte is common): it gives, body by body, the rules read from the
    bytes (ends with ">"; first line empty, starting with "<", a space, a direction mark or
    a no-break space, ending with ")", holding "•", or a notice), and its first LF. Bodies
    with the bullet's bytes elsewhere (emoji with A2, "•" on a later line), few and many."""
    pieces = ["", "<x", " x", "\u200ex", "\u200fx", "\u00a0x", "\u200dx", "x)", "x>", "a•b"]
    pieces += ["😢 ok", "ok\nsecond)", "ok\n•", "•", "â\nb>", "x)\ny", "plain", "\u2022\u2021"]
    pieces += [text + " more" for text in markers.NOTICE_PREFIXES[:3]]
    rng = random.Random(17)
    for count, sad in ((3000, 0.0), (400, 0.9)):  # few A2 bytes in the block, then many
        bodies = [
            ("😢" * 3 if rng.random() < sad else "") + rng.choice(pieces)
            if sad or rng.random() < 0.1
            else "plain " * 10
            for _ in range(count)
        ]
        encoded = [body.encode() for body in bodies]
        chunk = b"".join(body + b"\n" for body in encoded)
        starts = np.cumsum([0] + [len(body) + 1 for body in encoded[:-1]])
        ends = starts + np.array([len(body) for body in encoded])
        line_end = np.array([chunk.index(b"\n", start) for start in starts.tolist()])
        data = export_columns.padded_block(chunk)
        odd, newline = chat_export._odd_bodies(chunk, data, line_end, starts, ends)
        expected_odd, expected_newline = [], []
        for body in encoded:
            first = body.split(b"\n")[0]
            expected_odd.append(
                body.endswith(b">")
                or not first
                or first.startswith((b"<", b" ", "\u200e".encode(), "\u200f".encode()))
                or first.startswith("\u00a0".encode())
                or first.endswith(b")")
                or "•".encode() in first
                or any(body.startswith(text.encode()) for text in markers.NOTICE_PREFIXES)
            )
            expected_newline.append(body.find(b"\n"))
        assert odd.tolist() == expected_odd
        assert newline.tolist() == expected_newline
        every = np.flatnonzero(data[:-2] == 0xE2)
        every = every[(data[every + 1] == 0x80) & (data[every + 2] == 0xA2)]
        assert chat_export._bullets(chunk, data).tolist() == every.tolist()
        assert (chunk.count(b"\xa2") > len(chunk) // 1024 + 16) == (sad > 0)
