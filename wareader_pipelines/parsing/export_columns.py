"""Vectorised pieces of the whole-block export parser: a block of UTF-8 lines as Arrow
strings, any byte ranges of it as strings, and the file's header regexes in RE2's syntax.

The per-message Python path costs a few microseconds a message; these pieces let the
common message (a person's plain text, a header the file's own layout writes, a day
without a DST change) be read by Arrow's RE2 kernels and NumPy instead, a block at a
time, so that only the uncommon ones go through Python.
"""

from __future__ import annotations

import binascii
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
PAD = 32
"""Zero bytes after a block's text in `padded_block`: what reading a few bytes past a line
may touch, so that no function here copies the block to pad it."""


def re2_source(python_source: str, *, ascii_digits: bool) -> str:
    """A Python regex source of this package (escapes `\\uXXXX`, classes, literals) in
    RE2's syntax: `\\x{XXXX}` escapes, and `\\d` as Python reads it on text (any Unicode
    decimal digit, `\\p{Nd}`) or, with `ascii_digits`, only 0-9."""
    source = _UNICODE_ESCAPE.sub(r"\\x{\1}", python_source)
    return source.replace(r"\d", "[0-9]" if ascii_digits else r"\p{Nd}")


def re2_literal(text: str) -> str:
    """`text` as an RE2 pattern matching it literally (ASCII punctuation escaped)."""
    return "".join(
        "\\" + char if char.isascii() and not char.isalnum() and char != " " else char
        for char in text
    )


def padded_block(chunk: bytes) -> np.ndarray:
    """A block's bytes with PAD zero bytes after them, as the functions here read them.
    Allocated empty and only the pad zeroed: `np.zeros` of a block asks for fresh pages
    (calloc), each faulted in on its first write, where freed heap memory would do."""
    data = np.empty(len(chunk) + PAD, np.uint8)
    data[: len(chunk)] = np.frombuffer(chunk, np.uint8)
    data[len(chunk) :] = 0
    return data


def line_starts(data: np.ndarray) -> np.ndarray:
    """The byte offset of every line of `data` (UTF-8, each line ending with LF), and the
    end of the data after the last one: `len(lines) + 1` offsets."""
    return np.concatenate((np.zeros(1, np.int64), np.flatnonzero(data == 10) + 1))


def lines_of(buffer: pa.Buffer, starts: np.ndarray) -> pa.StringArray:
    """The lines of a block as a string array over its own bytes (each with its LF)."""
    return pa.Array.from_buffers(
        pa.string(), len(starts) - 1, [None, pa.py_buffer(starts.astype(np.int32)), buffer]
    )


def is_utf8(buffer: pa.Buffer) -> bool:
    """Whether the bytes are valid UTF-8 (checked by Arrow, not decoded into Python)."""
    whole = pa.Array.from_buffers(
        pa.string(), 1, [None, pa.py_buffer(np.array([0, buffer.size], np.int32)), buffer]
    )
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def slices_of(
    buffer: pa.Buffer, data: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> pa.StringArray:
    """The byte ranges [starts, ends) of a block as a string array, copied out once (see
    `views_of`)."""
    return views_of(buffer, data, starts, ends).cast(pa.string())


def views_of(buffer: pa.Buffer, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The byte ranges [starts, ends) of a block (`buffer`, and as `padded_block`) as
    Arrow string views over the block (12 bytes inline, or a 4-byte prefix and the
    offset), nothing copied but the short ones; the ranges must start and end between
    characters. Arrow's cast copies them into a string array; `dictionary_encode` reads
    them as they are."""
    count = len(starts)
    if count == 0:
        return pa.array([], pa.string_view())
    lengths = ends - starts
    # A view's four 32-bit words: the length, then 12 bytes inline (the rest zero), or for a
    # longer string its first 4 bytes, buffer 0 and the offset; read 8 and 4 bytes at once.
    first8 = words_at(data, starts) & _LOW_BYTES_64[np.minimum(lengths, 8)]
    next4 = _words(data, np.dtype("<u4"))[starts + 8] & _LOW_BYTES_32[np.clip(lengths - 8, 0, 4)]
    words = np.empty((count, 4), np.uint32)
    words[:, 0] = lengths
    words[:, 1] = first8  # (the low half)
    words[:, 2] = first8 >> np.uint64(32)
    words[:, 3] = next4
    long = np.flatnonzero(lengths > 12)
    if len(long):
        words[long, 2] = 0
        words[long, 3] = starts[long]
    return pa.Array.from_buffers(pa.string_view(), count, [None, pa.py_buffer(words), buffer])


_LOW_BYTES_64 = np.array([(1 << (8 * count)) - 1 for count in range(9)], np.uint64)
_LOW_BYTES_32 = np.array([(1 << (8 * count)) - 1 for count in range(5)], np.uint32)


def words_at(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The 8 bytes at each of `starts` in a block (as `padded_block`) as one little-endian
    word each (the first byte the lowest)."""
    return _words(data, np.dtype("<u8"))[starts]


def _words(data: np.ndarray, kind: np.dtype) -> np.ndarray:
    """`data`'s bytes read as the little-endian word of `kind` starting at each offset
    (unaligned, overlapping: no copy), up to the last whole one."""
    return np.ndarray((len(data) - kind.itemsize + 1,), kind, buffer=data, offset=0, strides=(1,))


def message_ids(digests: bytes | bytearray) -> pa.StringArray:
    """`"m_" + digest.hex()` of 12-byte digests (joined), as one string array built in
    NumPy."""
    count = len(digests) // 12
    laid = np.empty((count, 26), np.uint8)
    laid[:, 0] = ord("m")
    laid[:, 1] = ord("_")
    laid[:, 2:] = np.frombuffer(binascii.hexlify(digests), np.uint8).reshape(count, 24)
    return fixed_width_strings(laid, 26, count)


def fixed_width_strings(laid: bytes | np.ndarray, width: int, count: int) -> pa.StringArray:
    """`count` strings of `width` bytes each, laid one after the other in `laid` (bytes, or a
    C-contiguous array of their bytes), as a string array over those bytes (under 2 GiB)."""
    offsets = np.arange(count + 1, dtype=np.int32) * np.int32(width)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(laid)]
    )


def decimal_texts(numbers: np.ndarray, prefix: str = "") -> pa.StringArray:
    """`prefix` and each number in decimal (`"line 12"`, `"1715634000"`), as Arrow's join of
    the prefix and the number cast to text gives it, laid out in NumPy when all the numbers
    are positive and come in a few runs of as many digits (a block's line numbers and times
    nearly always do; the others take the join): a run at a time, one column of digits at
    a time, from the last, by 32-bit division where the numbers fit."""
    count = len(numbers)
    low = int(numbers.min()) if count else 0
    high = int(numbers.max()) if count else 0
    if not count or low < 1:
        return _joined(numbers, prefix)
    lead = np.frombuffer(prefix.encode(), np.uint8)
    if len(str(low)) == len(str(high)):
        laid = _laid(numbers, lead, high)
        return fixed_width_strings(laid, laid.shape[1], count)
    # Runs of numbers with as many digits (a block's line numbers pass 9,999 once at most).
    digits = np.searchsorted(_TENS, numbers, side="right") + 1
    cuts = np.flatnonzero(digits[1:] != digits[:-1]) + 1
    if len(cuts) >= _DECIMAL_RUNS:
        return _joined(numbers, prefix)
    runs = np.split(numbers, cuts)
    laid_runs = [_laid(run, lead, int(run.max())).ravel() for run in runs]
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(digits + len(lead), out=offsets[1:])
    return pa.Array.from_buffers(
        pa.string(),
        count,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(np.concatenate(laid_runs))],
    )


_TENS = 10 ** np.arange(1, 19, dtype=np.int64)  # a number under _TENS[k] has k + 1 digits
_DECIMAL_RUNS = 8  # more runs of as many digits than this: Arrow's join


def _joined(numbers: np.ndarray, prefix: str) -> pa.StringArray:
    """`decimal_texts` by Arrow: the join of the prefix and the numbers cast to text."""
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def _laid(numbers: np.ndarray, lead: np.ndarray, high: int) -> np.ndarray:
    """Positive numbers with as many digits as `high`, the largest, each after the bytes
    `lead`, as rows of bytes: one column of digits at a time, from the last."""
    width = len(lead) + len(str(high))
    laid = np.empty((len(numbers), width), np.uint8)
    laid[:, : len(lead)] = lead
    value = numbers.astype(np.uint32 if high < 1 << 32 else np.int64)
    for place in range(width - 1, len(lead) - 1, -1):
        lower = value // 10
        laid[:, place] = value - lower * 10 + ord("0")
        value = lower
    return laid


class HeaderShape:
    """The bytes of one header as the file's phone writes nearly all of them (zero-padded
    numbers: `01/05/2024, 09:05 - `), position by position: a digit where the header has
    one, an AM/PM letter where it has one, and the same byte as that header everywhere
    else. A line that starts with this shape is a plain header whose date and clock are
    its first `date_length` and next `clock_length` bytes (after `lead` bytes), found
    without a regex: the date and clock patterns end where the shape's digits do."""

    def __init__(
        self,
        header: bytes,
        lead: int,
        date_length: int,
        digits: list[int],
        letters: list[int],
        clock_fields: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int | None],
    ) -> None:
        self.lead, self.date_length = lead, date_length
        # Where the hour, minute and second digits and the AM/PM letter are (`clocks`).
        self.clock_fields = clock_fields
        self.clock_length = len(header) - lead - date_length
        whole = np.frombuffer(header, np.uint8)
        self.width = len(whole)
        variable = np.zeros(self.width, bool)
        self.digit_at = np.array(digits, np.int64)
        self.letter_at = np.array(letters, np.int64)
        variable[self.digit_at] = True
        variable[self.letter_at] = True
        self.literal_at = np.flatnonzero(~variable)
        self.literal = whole[self.literal_at]
        self.first_is_digit = 0 in digits
        self.first = int(whole[0])
        # The bytes that tell one date (one clock) of the shape from another: at most 8.
        split = lead + date_length
        self.date_bytes = [at for at in [*digits, *letters] if at < split]
        self.clock_bytes = sorted(at for at in [*digits, *letters] if at >= split)
        self.keyed = len(self.date_bytes) <= 8 and len(self.clock_bytes) <= 8
        # The header read as little-endian words of 8 bytes (`words`; at most PAD bytes, so a
        # word read at any line start stays in the padded block). Per word: the bits a line
        # of the shape has as the header (its literal bytes, and each digit's high nibble 3),
        # the digits' low nibbles (at most 9: adding 6 to each sets no bit 4 of its byte),
        # and the date bytes.
        assert self.width <= PAD, "a shape is read in the block's padding"
        self.word_count = -(-self.width // 8)
        words = [_WordMasks() for _ in range(self.word_count)]
        literal, digit, date_byte = set(self.literal_at.tolist()), set(digits), set(self.date_bytes)
        for at, byte in enumerate(header):
            masks, shift = words[at // 8], 8 * (at % 8)
            if at in literal:
                masks.fixed |= 0xFF << shift
                masks.value |= byte << shift
            elif at in digit:
                masks.fixed |= 0xF0 << shift
                masks.value |= 0x30 << shift
                masks.low |= 0x0F << shift
                masks.six |= 0x06 << shift
                masks.sixteen |= 0x10 << shift
            if at in date_byte:
                masks.date |= 0xFF << shift
        self.word_masks = [masks.arrays() for masks in words]

    def words(self, data: np.ndarray, starts: np.ndarray) -> list[np.ndarray]:
        """The shape's bytes after each of `starts` in a block (`padded_block`), as the
        `word_count` little-endian words of 8 bytes that hold them (see `words_at`)."""
        return [words_at(data, starts + 8 * word) for word in range(self.word_count)]

    def lines(
        self, data: np.ndarray, starts: np.ndarray, first: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Which lines of a block (`padded_block`, its `line_starts`; `first`, each line's
        first byte, when the caller has them) start with the shape, their literal bytes and
        digits compared a word of 8 bytes at a time; and the `words` of those lines, for
        `dates` and `clocks`."""
        line_starts = starts[:-1]
        # The first byte alone drops most continuation lines before the full comparison.
        if first is None:
            first = data[line_starts]
        maybe = (first - 48 < 10) if self.first_is_digit else first == self.first
        chosen = np.flatnonzero(maybe)
        at = line_starts[chosen]
        fits = np.ones(len(chosen), bool)
        words = self.words(data, at)
        for word, (fixed, value, low, six, sixteen, _) in zip(words, self.word_masks, strict=True):
            fits &= (word & fixed) == value
            if low:
                fits &= (((word & low) + six) & sixteen) == 0
        if len(self.letter_at):
            letters = data[at[:, None] + self.letter_at]
            fits &= np.isin(letters, np.frombuffer(b"AaPp", np.uint8)).all(axis=1)
        shaped = np.zeros(len(line_starts), bool)
        shaped[chosen[fits]] = True
        return shaped, [word[fits] for word in words]

    def dates(
        self, data: np.ndarray, starts: np.ndarray, words: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """For headers of the shape starting at `starts` (`keyed` shapes only; `words` their
        `words`): each one's date as an index into the distinct dates, and the position of
        each distinct date's first header. Headers come in runs of one date, told apart by
        the date bytes of their words, so only each run's first is encoded; the same
        encoding as of every header."""
        if len(starts) < 2:
            return _encoded(_keys(data, starts, self.date_bytes))
        changed = np.zeros(len(starts) - 1, bool)
        for word, masks in zip(words, self.word_masks, strict=True):
            date = masks[5]
            if date:
                dated = word & date
                changed |= dated[1:] != dated[:-1]
        heads = np.flatnonzero(np.concatenate(((True,), changed)))
        at, first = _encoded(_keys(data, starts[heads], self.date_bytes))
        return np.repeat(at, np.diff(np.append(heads, len(starts)))), heads[first]

    def clocks(self, words: list[np.ndarray], twelve_hour: bool) -> tuple[np.ndarray, np.ndarray]:
        """For headers of the shape whose `words` these are: each one's time as seconds
        into the day and whether it is one (`_clock_of` in chat_export, read from the
        digits: the AM/PM letter makes the hour 0-11 or 12-23, over 12 with one is no hour;
        a 12-hour file's clock without it is ambiguous; hour, minute, second past 23, 59,
        59 are impossible)."""
        hour_at, minute_at, second_at, letter_at = self.clock_fields
        count = len(words[0])

        def byte(place: int) -> np.ndarray:
            word = words[place // 8] >> np.uint64(8 * (place % 8))
            return (word & np.uint64(0xFF)).view(np.int64)

        def number(places: tuple[int, ...]) -> np.ndarray:
            if not places:
                return np.zeros(count, np.int64)
            value = byte(places[0])
            for place in places[1:]:
                value = value * 10 + byte(place)
            return value - 48 * (10 ** len(places) - 1) // 9  # each digit's "0" taken off

        hour, minute, second = number(hour_at), number(minute_at), number(second_at)
        if letter_at is not None:
            afternoon = np.isin(byte(letter_at), (ord("P"), ord("p")))
            hour = np.where(hour > 12, 99, hour % 12 + np.where(afternoon, 12, 0))
        good = (hour <= 23) & (minute <= 59) & (second <= 59)
        if letter_at is None and twelve_hour:
            good[:] = False
        return hour * 3600 + minute * 60 + second, good


class _WordMasks:
    """The masks of one word of a HeaderShape's header, built bit by bit (`__init__`)."""

    def __init__(self) -> None:
        self.fixed = self.value = self.low = self.six = self.sixteen = self.date = 0

    def arrays(self) -> tuple[np.uint64, ...]:
        """fixed, value, low, six, sixteen and date as NumPy words."""
        return tuple(
            np.uint64(mask)
            for mask in (self.fixed, self.value, self.low, self.six, self.sixteen, self.date)
        )


def _keys(data: np.ndarray, starts: np.ndarray, places: list[int]) -> np.ndarray:
    """The bytes at `places` (at most 8) after each of `starts`, one 8-byte key each."""
    laid = np.zeros((len(starts), 8), np.uint8)
    laid[:, : len(places)] = data[starts[:, None] + np.array(places, np.int64)]
    return laid.view("<u8").ravel()


def _encoded(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A dictionary encoding of keys: each one's index among the distinct keys (sorted),
    and the position of each distinct key's first occurrence."""
    _, first, indices = np.unique(keys, return_index=True, return_inverse=True)
    return indices.ravel(), first
