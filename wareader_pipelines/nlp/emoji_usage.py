"""Emoji as the reader sees them: one per grapheme, with the skin tone apart.

whatstk and chat-miner count code points, so "👍🏽" is two emoji and a family of
four is seven. Here a skin-tone, ZWJ (families, professions), flag or keycap
sequence is one emoji, as the `emoji` package segments it; its skin tones are
taken out into their own value so that 👍🏻 and 👍🏿 count as the same emoji with
different tones, and "❤" and "❤️" (with or without the variation selector) are
the same emoji.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache

import emoji
import pandas as pd

from wareader_pipelines.frame_rows import nanosecond_times
from wareader_pipelines.nlp.text import emoji_count

SKIN_TONES = {
    "\U0001f3fb": "light",
    "\U0001f3fc": "medium-light",
    "\U0001f3fd": "medium",
    "\U0001f3fe": "medium-dark",
    "\U0001f3ff": "dark",
}
MIXED_TONES = "mixed"
_VARIATION_SELECTOR = "\ufe0f"


@dataclass(frozen=True, slots=True)
class EmojiUse:
    """One emoji as seen, without its skin tone; `skin_tone` is None when it has none."""

    emoji: str
    name: str
    skin_tone: str | None


@cache
def _fully_qualified() -> dict[str, str]:
    """Each emoji without variation selectors -> its fully qualified form."""
    forms: dict[str, str] = {}
    for form, data in emoji.EMOJI_DATA.items():
        bare = form.replace(_VARIATION_SELECTOR, "")
        if data.get("status") == emoji.STATUS["fully_qualified"] or bare not in forms:
            forms[bare] = form
    return forms


@cache
def emoji_use(sequence: str) -> EmojiUse:
    """The emoji a grapheme sequence shows, with its skin tone split off."""
    tones = [SKIN_TONES[c] for c in sequence if c in SKIN_TONES]
    base = "".join(c for c in sequence if c not in SKIN_TONES)
    base = _fully_qualified().get(base.replace(_VARIATION_SELECTOR, ""), base)
    distinct = sorted(set(tones))
    tone = None if not distinct else distinct[0] if len(distinct) == 1 else MIXED_TONES
    name = emoji.demojize(base, delimiters=("", "")) if base in emoji.EMOJI_DATA else base
    if name == base:  # a ZWJ sequence the package does not name: name its parts
        name = "+".join(emoji.demojize(part, delimiters=("", "")) for part in base.split("\u200d"))
    return EmojiUse(base, name, tone)


def emoji_uses(text: str | None) -> Counter[EmojiUse]:
    """How often each emoji (and skin tone) occurs in `text`."""
    if not text or emoji_count(text) == 0:  # the fast regex rules out most texts
        return Counter()
    return Counter(emoji_use(match.chars) for match in emoji.analyze(text, join_emoji=True))


EMOJI_COLUMNS = [
    "message_id",
    "conversation_id",
    "sender_id",
    "sent_at",
    "emoji",
    "emoji_name",
    "skin_tone",
    "occurrences",
]


def message_emoji_frame(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per message, emoji and skin tone, from cleaned messages' `text_clean`.

    System lines are left out (their emoji are not anyone's). Rows are sorted, so a
    re-run of the same messages gives the same frame.
    """
    uses_of: dict[str | None, list[tuple[EmojiUse, int]]] = {}  # a text repeated is read once
    with_text = messages[~messages["is_system"].fillna(False).astype(bool)]
    with_text = with_text[with_text["emoji_count"].fillna(0) > 0]
    # Each row's position in `with_text` and its uses; the message columns are then taken
    # whole by position, instead of a tuple (and a Timestamp) per row.
    positions: list[int] = []
    found: list[tuple[EmojiUse, int]] = []
    for position, text in enumerate(with_text["text_clean"]):
        text = text if isinstance(text, str) else None
        uses = uses_of.get(text)
        if uses is None:
            uses = uses_of[text] = list(emoji_uses(text).items())
        positions.extend([position] * len(uses))
        found.extend(uses)
    taken = with_text.iloc[positions]
    columns = {
        "message_id": taken["message_id"].tolist(),
        "conversation_id": taken["conversation_id"].tolist(),
        "sender_id": taken["sender_id"].tolist(),
        "sent_at": nanosecond_times(taken["sent_at"]),
        "emoji": [use.emoji for use, _ in found],
        "emoji_name": [use.name for use, _ in found],
        "skin_tone": [use.skin_tone for use, _ in found],
        "occurrences": [occurrences for _, occurrences in found],
    }
    # No emoji: the empty frame a list of rows gives (object columns), as before.
    frame = pd.DataFrame(columns if found else [], columns=EMOJI_COLUMNS)
    frame["occurrences"] = frame["occurrences"].astype("int64")
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    return frame.sort_values(
        ["sent_at", "message_id", "emoji", "skin_tone"], na_position="first", kind="stable"
    ).reset_index(drop=True)
