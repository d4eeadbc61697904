"""Offline message sentiment: VADER for English, an emoji lexicon for every other language.

VADER (vaderSentiment 3.3.2) is English-only, so it scores only messages detected as
English (`method = 'vader'`). Emoji carry sentiment in any language: a message in
another language (or of unknown language) that holds emoji is scored from them alone
(`method = 'emoji'`). The emoji lexicon is VADER's own English lexicon applied to each
emoji's names (VADER's emoji descriptions, the `emoji` package's CLDR name and
aliases), corrected by hand for common emoji whose names mislead (👍 "thumbs up" has no
sentiment word; 💔 "broken heart" reads as "heart"). A message nothing can score gets
a null score and `method = 'unsupported'`: never a guessed neutral.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.metadata import version

import emoji
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from wareader_pipelines.frame_rows import in_time_order, nanosecond_times

POSITIVE_THRESHOLD = 0.05  # VADER's own cut-offs on the compound score
NEGATIVE_THRESHOLD = -0.05

METHOD_VADER = "vader"
METHOD_EMOJI = "emoji"
METHOD_UNSUPPORTED = "unsupported"

VADER_MODEL = f"vaderSentiment-{version('vaderSentiment')}"
EMOJI_MODEL = f"vader-emoji-lexicon-{version('vaderSentiment')}"

# Emoji whose names carry no (or the wrong) sentiment for VADER, scored by hand on
# VADER's compound scale from their common use in chat.
EMOJI_OVERRIDES: dict[str, float] = {
    "👍": 0.6,
    "👎": -0.6,
    "👏": 0.6,
    "🙌": 0.6,
    "💪": 0.5,
    "🤝": 0.4,
    "💯": 0.5,
    "✅": 0.3,
    "❌": -0.3,
    "✔": 0.3,
    "💔": -0.7,
    "🔥": 0.5,
    "🤬": -0.8,
    "😒": -0.5,
    "🙄": -0.4,
    "😤": -0.5,
    "😉": 0.4,
    "😡": -0.8,
    "😠": -0.7,
    "🥺": -0.3,
    "😕": -0.4,
    "😬": -0.2,
    "🤦": -0.5,
    "🤷": 0.0,
}

_SKIN_TONES_AND_SELECTORS = {chr(code) for code in range(0x1F3FB, 0x1F400)} | {"\ufe0f", "\ufe0e"}


@dataclass(frozen=True, slots=True)
class SentimentScore:
    """A message's sentiment: label and score are None when `method` is 'unsupported'."""

    label: str | None
    score: float | None
    method: str
    model: str | None


def label_of(score: float) -> str:
    """positive / neutral / negative by VADER's thresholds."""
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _base_emoji(symbol: str) -> str:
    """The emoji without skin tones and variation selectors (ZWJ sequences keep their head)."""
    stripped = "".join(ch for ch in symbol if ch not in _SKIN_TONES_AND_SELECTORS)
    return stripped.split("\u200d")[0] or symbol


@lru_cache(maxsize=4096)
def emoji_score(symbol: str) -> float | None:
    """The lexicon score of one emoji, or None when no name of it is known."""
    base = _base_emoji(symbol)
    if base in EMOJI_OVERRIDES:
        return EMOJI_OVERRIDES[base]
    analyzer = _analyzer()
    data = emoji.EMOJI_DATA.get(symbol) or emoji.EMOJI_DATA.get(base) or {}
    names = [analyzer.emojis.get(base, ""), str(data.get("en", ""))]
    names += [str(alias) for alias in data.get("alias", [])]
    words = " ".join(name.strip(":").replace("_", " ") for name in names if name)
    if not words.strip():
        return None
    return float(analyzer.polarity_scores(words)["compound"])


@cache
def _emoji_characters() -> frozenset[str]:
    """Every non-ASCII character of any emoji the package knows (emoji 2.16 has none made of
    ASCII alone): a text holding none of them holds no emoji, ZWJ sequences included."""
    return frozenset(ch for form in emoji.EMOJI_DATA for ch in form if not ch.isascii())


def emoji_sentiment(text: str) -> float | None:
    """Mean lexicon score of the emoji in `text`, or None when it has no known emoji."""
    if text.isascii() or _emoji_characters().isdisjoint(text):
        return None  # no character any emoji is made of: skip the emoji tokenizer
    scores = [
        score
        for found in emoji.emoji_list(text)
        if (score := emoji_score(found["emoji"])) is not None
    ]
    if not scores:
        return None
    return round(sum(scores) / len(scores), 4)


def score_message(text: str | None, language: str | None) -> SentimentScore:
    """The offline sentiment of one message given its detected language."""
    if not text or not text.strip():
        return SentimentScore(None, None, METHOD_UNSUPPORTED, None)
    if language == "en":
        compound = round(float(_analyzer().polarity_scores(text)["compound"]), 4)
        return SentimentScore(label_of(compound), compound, METHOD_VADER, VADER_MODEL)
    from_emoji = emoji_sentiment(text)
    if from_emoji is not None:
        return SentimentScore(label_of(from_emoji), from_emoji, METHOD_EMOJI, EMOJI_MODEL)
    return SentimentScore(None, None, METHOD_UNSUPPORTED, None)


SENTIMENT_COLUMNS = [
    "message_id",
    "conversation_id",
    "sent_at",
    "language",
    "label",
    "score",
    "method",
    "model",
    "provider",
    "llm_failure",
]
_SKIPPED_TYPES = frozenset({"reaction", "deleted", "system"})


def sentiment_candidates(cleaned: pd.DataFrame) -> pd.DataFrame:
    """The messages that get a sentiment row: not system lines, with text (captions count)."""
    if cleaned.empty:
        return cleaned.iloc[0:0]
    has_text = cleaned["text_clean"].map(lambda text: isinstance(text, str) and bool(text.strip()))
    keep = (
        has_text
        & ~cleaned["is_system"].fillna(False).astype(bool)
        & ~cleaned["message_type"].isin(_SKIPPED_TYPES)
    )
    candidates = cleaned.loc[keep]
    if in_time_order(candidates, "sent_at", "message_id"):
        return candidates  # as the warehouse hands them: the stable sort would keep them so
    return candidates.sort_values(["sent_at", "message_id"], kind="stable")


def offline_sentiment_frame(candidates: pd.DataFrame) -> pd.DataFrame:
    """One sentiment row per candidate message, scored offline (VADER / emoji / unsupported)."""
    if candidates.empty:
        return pd.DataFrame([], columns=SENTIMENT_COLUMNS)
    # A message's score depends on its text and language only: each distinct pair is scored
    # once (greetings, "ok", stickers' captions recur across a backfill's days).
    scored: dict[tuple[object, str | None], SentimentScore] = {}
    languages = [code if isinstance(code, str) else None for code in candidates["language"]]
    results = []
    for text, language in zip(candidates["text_clean"], languages, strict=True):
        key = (text, language)
        result = scored.get(key)
        if result is None:
            result = scored[key] = score_message(text, language)
        results.append(result)
    # Built column by column (the rows' own values, in their order) rather than a dict per
    # row: the same frame, without a Python object per message and field.
    columns = {
        "message_id": candidates["message_id"].tolist(),
        "conversation_id": candidates["conversation_id"].tolist(),
        "sent_at": nanosecond_times(candidates["sent_at"]),
        "language": languages,
        "label": [result.label for result in results],
        "score": [result.score for result in results],
        "method": [result.method for result in results],
        "model": [result.model for result in results],
        "provider": ["offline"] * len(results),
        "llm_failure": [None] * len(results),
    }
    return pd.DataFrame(columns, columns=SENTIMENT_COLUMNS)
