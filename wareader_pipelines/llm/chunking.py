"""Fitting a conversation-day into a model's context budget: estimate, then split, never cut.

Token counts are estimated without a tokenizer as one token per three UTF-8 bytes: about
a third too many for English (4 bytes per token) and right for scripts of 2-3 byte
characters, so a chunk that fits by this estimate fits the real model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate of how many tokens `text` costs."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One message as the model sees it."""

    sent_at: datetime
    speaker: str  # "A", "B", ... in order of appearance
    text: str
    language: str | None = None  # not rendered; the offline summarizer uses it

    def render(self) -> str:
        body = self.text.replace("\n", " / ")
        at = self.sent_at  # the hour and minute as %H:%M writes them, without strftime
        return f"[{at.hour:02d}:{at.minute:02d}] {self.speaker}: {body}"


def speaker_labels(sender_ids: Iterable[str | None]) -> dict[str | None, str]:
    """A short label per sender in order of appearance: A, B, ..., Z, AA, AB, ..."""
    labels: dict[str | None, str] = {}
    for sender in sender_ids:
        if sender not in labels:
            labels[sender] = _label(len(labels))
    return labels


def _label(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def render_transcript(lines: Sequence[TranscriptLine]) -> str:
    """The transcript text sent to the model: one rendered line per message."""
    return "\n".join(line.render() for line in lines)


def split_into_chunks(rendered: Sequence[str], budget_tokens: int) -> list[str]:
    """Consecutive rendered lines grouped into chunks of at most `budget_tokens` each.

    A single line longer than the budget is split at spaces (or anywhere, for text
    without spaces) into consecutive pieces marked "(continued)": every word of the
    input appears, in order, in exactly one chunk.
    """
    if budget_tokens < 8:
        raise ValueError("a chunk budget under 8 tokens cannot hold a line")
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for line in rendered:
        for piece in _pieces(line, budget_tokens):
            cost = estimate_tokens(piece) + 1  # the newline
            if current and used + cost > budget_tokens:
                chunks.append("\n".join(current))
                current, used = [], 0
            current.append(piece)
            used += cost
    if current:
        chunks.append("\n".join(current))
    return chunks


def _pieces(line: str, budget_tokens: int) -> list[str]:
    """`line` itself if it fits, else consecutive pieces that each fit."""
    if estimate_tokens(line) + 1 <= budget_tokens:
        return [line]
    marker = " (continued)"
    limit = (budget_tokens - 1) * BYTES_PER_TOKEN - len(marker.encode())
    pieces: list[str] = []
    rest = line
    while rest:
        if len(rest.encode("utf-8")) <= limit:
            pieces.append(rest)
            break
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut] + marker)
        rest = rest[cut:].lstrip(" ")
    return pieces


def _cut_point(text: str, limit_bytes: int) -> int:
    """The largest character index whose prefix fits `limit_bytes`, preferring a space."""
    size = 0
    last_fit = 0
    for index, character in enumerate(text):
        size += len(character.encode("utf-8"))
        if size > limit_bytes:
            break
        last_fit = index + 1
    space = text.rfind(" ", 0, last_fit)
    return space if space > last_fit // 2 else max(last_fit, 1)
