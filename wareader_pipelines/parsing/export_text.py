"""The chat text of an export, read in blocks of lines so that it is never held whole.

An export's text can be a hundred megabytes; decoding it whole, then splitting it
into a list of lines, cost several times its size before one row was built. The
parser instead reads it a block at a time, as many times as it needs passes
(once to decide the file's date order and authors, once to build rows), each
time from the start of the raw stream: a .txt file re-read from disk, or a zip
member inflated again. A block is decoded with an incremental decoder, so a
character or a CRLF split across two blocks is read as if the file were whole,
and the lines are exactly those of `text.split("\\n")` after the byte-order mark
is dropped, CR and CRLF ends become LF and trailing empty lines are dropped.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from wareader_pipelines.parsing.export_limits import ExportTooLarge

READ_BLOCK = 1 << 18  # raw bytes decoded at a time: what one block of lines can cost
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, kept by surrogateescape


@dataclass(slots=True)
class LineBlock:
    """Consecutive lines of the text, with the lines (0-based, within the block) that held
    NUL characters (removed here) or bytes that are not UTF-8 (kept as lone surrogates)."""

    lines: list[str]
    nul: set[int] | None = None
    undecodable: set[int] | None = None


class CappedReader:
    """A binary stream that raises ExportTooLarge once more than `cap` bytes came out of it.

    Zip headers can understate a member's size: the count of what really inflates is
    what holds the cap.
    """

    def __init__(self, raw: BinaryIO, cap: int, what: str) -> None:
        self.raw = raw
        self.cap = cap
        self.what = what
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        block = self.raw.read(size)
        self.size += len(block)
        if self.size > self.cap:
            raise ExportTooLarge(f"{self.what} inflates past {self.cap:,} bytes: rejected")
        return block

    def close(self) -> None:
        self.raw.close()


def _decoded(
    open_raw: Callable[[], BinaryIO], *, utf16: bool, read_divisor: int = 1
) -> Iterator[tuple[str, bool]]:
    """The text from a fresh stream of its raw bytes, a block at a time, as (whole lines
    joined by LF, the start of a line whose end is in a later block, whether it is the
    last block): the byte-order mark dropped, CR and CRLF ends made LF.

    UTF-16 (the caller saw its byte-order mark) is decoded strictly: a decoding error is
    a UnicodeDecodeError. UTF-8 is decoded with surrogateescape, so a stray byte marks
    its line instead of failing the file. Reads are of `READ_BLOCK // read_divisor` bytes.
    """
    size = max(1, READ_BLOCK // read_divisor)
    decoder = codecs.getincrementaldecoder("utf-16" if utf16 else "utf-8")(
        "strict" if utf16 else "surrogateescape"
    )
    raw = open_raw()
    try:
        partial = ""  # the start of a line whose end is in a later block
        held_cr = False  # a block ended with CR: it may be the first half of CRLF
        bom_checked = False
        while True:
            data = raw.read(size)
            final = not data
            text = decoder.decode(data, final)
            if held_cr:
                text = "\r" + text
                held_cr = False
            if not bom_checked and text:
                bom_checked = True
                if text[0] == "\ufeff":
                    text = text[1:]
            if text.endswith("\r") and not final:
                text, held_cr = text[:-1], True
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            chunk = partial + text if partial else text
            if final:
                yield chunk, True
                return
            cut = chunk.rfind("\n") + 1
            partial = chunk[cut:]
            yield chunk[:cut], False
    finally:
        raw.close()


def line_blocks(
    open_raw: Callable[[], BinaryIO], *, utf16: bool, read_divisor: int = 1
) -> Iterator[LineBlock]:
    """The text's lines, a block at a time, from a fresh stream of its raw bytes (see
    `_decoded` for the decoding; `read_divisor` > 1 for smaller blocks, for a reader that
    may stop early). The lines do not depend on the blocks' size."""
    pending_empty = 0  # empty lines kept back: dropped if nothing follows them
    emitted = False
    for chunk, final in _decoded(open_raw, utf16=utf16, read_divisor=read_divisor):
        nul = "\x00" in chunk
        undecodable = not utf16 and _ESCAPED.search(chunk) is not None
        parts = chunk.split("\n")
        if not final:
            parts.pop()  # "" after the block's last LF: its lines are whole
        if not pending_empty and "" not in parts:
            lines = parts  # no empty line to hold back (the usual block)
        else:
            lines = []
            for line in parts:
                if not line:
                    pending_empty += 1
                    continue
                if pending_empty:
                    lines.extend([""] * pending_empty)
                    pending_empty = 0
                lines.append(line)
        if final and not emitted and not lines:
            lines.append("")  # an empty file is one empty line, as "".split("\n")
        if lines:
            emitted = True
            yield _flagged(lines, nul=nul, undecodable=undecodable)


def text_blocks(open_raw: Callable[[], BinaryIO], *, utf16: bool) -> Iterator[str]:
    """The text a block at a time, each block whole lines ending with LF (the last with
    trailing empty lines kept: the reader strips them), decoded as `line_blocks` does.

    For the whole-block parser, which finds message headers in a block at once; it is
    used only on text the line reader found free of NUL and undecodable bytes.
    """
    for chunk, final in _decoded(open_raw, utf16=utf16):
        if final:
            if chunk:
                yield chunk if chunk.endswith("\n") else chunk + "\n"
            return
        if chunk:
            yield chunk


def _flagged(lines: list[str], *, nul: bool, undecodable: bool) -> LineBlock:
    """`lines` as a block: NUL characters removed, and the lines they (or bad bytes) were in.

    The flags say whether the decoded text of the block held any at all, so the usual
    block costs no per-line search.
    """
    block = LineBlock(lines)
    if nul:
        block.nul = set()
        for index, line in enumerate(lines):
            if "\x00" in line:
                lines[index] = line.replace("\x00", "")
                block.nul.add(index)
    if undecodable:
        block.undecodable = {i for i, line in enumerate(lines) if _ESCAPED.search(line)}
    return block


def block_reads(max_text_bytes: int) -> int:
    """The reads that make one of `byte_blocks`' blocks under a text cap: 2 (512 KiB) up to
    a 47 MiB cap, 8 (2 MiB) from the default 128 MiB cap. The vectorised parser's arrays
    for a block take ~10 x its bytes at once (more in the allocator's keeping), so a
    larger block only where the cap's bound (a parse under 4 x the cap) leaves room: at
    2 MiB test_export_memory's 24 MiB cap grew past its 96 MiB bound; its block costs
    ~13 % less CPU a 100k-message parse than 512 KiB (per-block kernel and array costs)."""
    return max(2, min(8, max_text_bytes // (16 * 2**20)))


def byte_blocks(open_raw: Callable[[], BinaryIO], reads: int = 2) -> Iterator[bytes]:
    """`text_blocks` of a UTF-8 text as its bytes, undecoded, in blocks of `reads` reads
    (`block_reads`): whole lines ending with LF (a UTF-8 character never holds an LF byte,
    so a block cut after one is cut between characters), the byte-order mark dropped, CR
    and CRLF ends made LF. For the vectorised parser, on text known to be valid UTF-8."""
    size = READ_BLOCK * reads
    raw = open_raw()
    try:
        partial = b""  # the start of a line whose end is in a later block
        held_cr = False  # a block ended with CR: it may be the first half of CRLF
        bom_checked = False
        while True:
            data = raw.read(size)
            final = not data
            if held_cr:
                data = b"\r" + data
                held_cr = False
            if not bom_checked and data:
                bom_checked = True
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
            if data.endswith(b"\r") and not final:
                data, held_cr = data[:-1], True
            if b"\r" in data:
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if final:
                chunk = partial + data if partial else data
                if chunk:
                    yield chunk if chunk.endswith(b"\n") else chunk + b"\n"
                return
            # The block is the line carried from before and the read up to its last LF,
            # copied once (the carried line holds no LF, so none is lost).
            cut = data.rfind(b"\n") + 1
            if not cut:
                partial += data
                continue
            yield (
                b"".join((partial, memoryview(data)[:cut])) if partial or cut < len(data) else data
            )
            partial = data[cut:]
    finally:
        raw.close()
