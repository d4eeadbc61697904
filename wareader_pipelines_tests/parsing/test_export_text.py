"""The export text read in blocks of lines (`export_text.line_blocks`)."""

from __future__ import annotations

import functools
import io
import itertools
import random

import pytest

from wareader_pipelines.parsing import export_text


def _split_lines(raw: bytes) -> list[str]:
    """The lines `line_blocks` promises: the text split at LF after the byte-order mark is
    dropped and CR/CRLF made LF, trailing empty lines dropped (an empty text: one line)."""
    text = raw.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


@pytest.mark.parametrize("read_block", [5, 13, 64, export_text.READ_BLOCK])
def test_line_blocks_of_any_size_are_the_split_lines(
    monkeypatch: pytest.MonkeyPatch, read_block: int
) -> None:
    """Blocks of any size, a quarter of it too (`read_divisor`, what layout detection reads),
    give the lines of the whole text: blocks without an empty line are taken as split,
    the others hold empty lines back across blocks and drop the trailing ones. Fails if a
    block's empty lines are taken as they are or held ones are lost."""
    monkeypatch.setattr(export_text, "READ_BLOCK", read_block)
    rng = random.Random(7)
    pieces = ["a", "día 😀", "", "", "12/01/2024, 10:00 - Ana: hola", "\r", " "]
    texts = [b"", b"\n", b"\n\n", b"\xef\xbb\xbfx\n\ny", b"x\r\n\r\ny\r", b"\n\nx\n\n"]
    for _ in range(60):
        lines = rng.choices(pieces, k=rng.choice([1, 5, 40]))
        texts.append(("\n".join(lines) + rng.choice(["", "\n", "\n\n\n"])).encode())
    for raw, read_divisor in itertools.product(texts, (1, 4)):
        blocks = list(
            export_text.line_blocks(
                functools.partial(io.BytesIO, raw), utf16=False, read_divisor=read_divisor
            )
        )
        assert [line for block in blocks for line in block.lines] == _split_lines(raw), raw


@pytest.mark.parametrize("read_block", [3, 5, 13, 64])
def test_byte_blocks_are_text_blocks_as_bytes(
    monkeypatch: pytest.MonkeyPatch, read_block: int
) -> None:
    """`byte_blocks` (each block the line carried from the read before and this read up to
    its last LF, joined in one copy) gives `text_blocks` encoded: whole lines ending with
    LF, for reads that end inside a line, inside CRLF, in a long line spanning reads, with
    no LF at all, or right after an LF; with 1 and 3 reads a block."""
    monkeypatch.setattr(export_text, "READ_BLOCK", read_block)
    rng = random.Random(23)
    pieces = ["a", "día 😀", "", "12/01/2024, 10:00 - Ana: hola", "\r", " ", "x" * 90]
    texts = [b"", b"\n", b"abc", b"\xef\xbb\xbfx\n\ny", b"x\r\n\r\ny\r", b"\n\nx\n\n", b"ab\n"]
    for _ in range(40):
        lines = rng.choices(pieces, k=rng.choice([1, 5, 40]))
        texts.append(("\n".join(lines) + rng.choice(["", "\n", "\r\n"])).encode())
    for raw, reads in itertools.product(texts, (1, 3)):
        opened = functools.partial(io.BytesIO, raw)
        blocks = list(export_text.byte_blocks(opened, reads))
        expected = [text.encode() for text in export_text.text_blocks(opened, utf16=False)]
        assert b"".join(blocks) == b"".join(expected), raw
        assert all(block.endswith(b"\n") and block for block in blocks), raw
