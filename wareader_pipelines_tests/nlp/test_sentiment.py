"""Offline sentiment: VADER for English, emoji for any language, null when nothing applies."""

from __future__ import annotations

import pandas as pd
import pytest

from wareader_pipelines.nlp.sentiment import (
    METHOD_EMOJI,
    METHOD_UNSUPPORTED,
    METHOD_VADER,
    emoji_score,
    label_of,
    offline_sentiment_frame,
    score_message,
    sentiment_candidates,
)


@pytest.mark.parametrize(
    ("text", "language", "label", "method"),
    [
        ("The new blender works great, thanks!", "en", "positive", METHOD_VADER),
        ("This is the worst service, I am angry.", "en", "negative", METHOD_VADER),
        ("The parcel is at the depot.", "en", "neutral", METHOD_VADER),
        ("Gracias, llegó perfecto 😍", "es", "positive", METHOD_EMOJI),
        ("Das ist kaputt 😡👎", "de", "negative", METHOD_EMOJI),
        ("Obrigado 👍🏽", "pt", "positive", METHOD_EMOJI),
        ("💔", None, "negative", METHOD_EMOJI),
    ],
)
def test_scores(text: str, language: str | None, label: str, method: str) -> None:
    result = score_message(text, language)
    assert (result.label, result.method) == (label, method)
    assert -1 <= result.score <= 1 and result.model


@pytest.mark.parametrize(
    ("text", "language"),
    [("Danke, super Service!", "de"), ("me encanta, es genial", "es"), ("ok", None), ("", "en")],
)
def test_nothing_scorable_is_null_never_a_guessed_neutral(text: str, language: str | None) -> None:
    # "genial" is also English: VADER would call this positive for the wrong reason.
    result = score_message(text, language)
    assert (result.label, result.score, result.method) == (None, None, METHOD_UNSUPPORTED)


def test_emoji_overrides_fix_misleading_names() -> None:
    assert emoji_score("👍") > 0.05 and emoji_score("💔") < -0.05
    assert emoji_score("😂") > 0.05 and emoji_score("😭") < -0.05
    assert emoji_score("❤️") > 0.05
    assert emoji_score("👍🏿") == emoji_score("👍")


def test_labels_follow_vader_thresholds() -> None:
    assert [label_of(s) for s in (0.05, 0.049, -0.049, -0.05)] == [
        "positive",
        "neutral",
        "neutral",
        "negative",
    ]


def test_frames_skip_system_lines_reactions_and_empty_text() -> None:
    cleaned = pd.DataFrame(
        {
            "message_id": ["a", "b", "c", "d", "e"],
            "conversation_id": ["x"] * 5,
            "sent_at": pd.to_datetime(["2024-05-01T09:00Z"] * 5),
            "message_type": ["text", "system", "reaction", "image", "image"],
            "text_clean": ["great!", "joined", "👍", None, "nice photo 😍"],
            "language": ["en", None, None, None, "en"],
            "is_system": [False, True, False, False, False],
        }
    )
    frame = offline_sentiment_frame(sentiment_candidates(cleaned))
    assert frame["message_id"].tolist() == ["a", "e"]
    assert frame["provider"].tolist() == ["offline", "offline"]
    assert frame["label"].tolist() == ["positive", "positive"]


def test_no_emoji_is_ascii_so_ascii_texts_skip_the_emoji_tokenizer() -> None:
    """`emoji_sentiment` returns None for ASCII-only text without tokenizing it: true only
    while no emoji of the installed `emoji` package is written in ASCII."""
    import emoji

    assert not [symbol for symbol in emoji.EMOJI_DATA if symbol.isascii()]
    assert score_message("ok :) see you at 5", "de").method == METHOD_UNSUPPORTED


def test_texts_without_any_emoji_character_skip_the_tokenizer_with_the_same_scores() -> None:
    """The non-ASCII shortcut: every emoji the package knows, alone, ZWJ-joined and amid
    accented words, scores as the tokenizer's own list says; accented text alone is None."""
    import emoji

    from wareader_pipelines.nlp.sentiment import emoji_score, emoji_sentiment

    def by_tokenizer(text: str) -> float | None:
        scores = [s for f in emoji.emoji_list(text) if (s := emoji_score(f["emoji"])) is not None]
        return round(sum(scores) / len(scores), 4) if scores else None

    symbols = list(emoji.EMOJI_DATA)
    texts = [f"Größe ñandú {symbol} café" for symbol in symbols]
    texts += ["\u200d".join(pair) for pair in zip(symbols[::7], symbols[3::7], strict=False)]
    texts += ["Grüße aus Köln, ça va? 1\u20e3 \u00a9", "naïve façade", "日本語のテキスト"]
    assert [emoji_sentiment(t) for t in texts] == [by_tokenizer(t) for t in texts]
    assert emoji_sentiment("naïve façade — «Größe»") is None


def test_repeated_texts_get_the_same_rows_as_when_scored_one_by_one() -> None:
    texts = ["Danke 😍", "ok", "Danke 😍", "great, thanks!", "great, thanks!"]
    languages = ["de", None, "de", "en", "es"]
    candidates = pd.DataFrame(
        {
            "message_id": [f"m{i}" for i in range(len(texts))],
            "conversation_id": "c",
            "sent_at": pd.date_range("2024-05-01", periods=len(texts), freq="min", tz="UTC"),
            "language": languages,
            "text_clean": texts,
        }
    )
    frame = offline_sentiment_frame(candidates)
    for row, text, language in zip(frame.itertuples(), texts, languages, strict=True):
        alone = score_message(text, language)
        assert (row.label, row.method) == (alone.label, alone.method)
        assert row.score == alone.score or (pd.isna(row.score) and alone.score is None)
    assert frame["method"].tolist() == [
        METHOD_EMOJI,
        METHOD_UNSUPPORTED,
        METHOD_EMOJI,
        METHOD_VADER,
        METHOD_UNSUPPORTED,
    ]
