"""Normalization, emoji/URL counting and spaCy word counts of chat message bodies."""

from __future__ import annotations

import unicodedata

import emoji
import pytest

from wareader_pipelines.nlp.text import Tokenizers, emoji_count, normalize_text, urls_in


def test_normalize_keeps_accents_composed_where_nfkd_would_split_them() -> None:
    decomposed = "Cafe\u0301 con an\u0303o"  # "é" and "ñ" as base letter + combining mark
    clean = normalize_text(decomposed)
    assert clean == "Café con año"
    assert "é" in clean and "ñ" in clean
    assert len(clean) == 12
    # what NFKD would have produced: the accents torn off their letters
    assert unicodedata.normalize("NFKD", "Café") == "Cafe\u0301"
    assert normalize_text("Café") == "Café"


def test_normalize_keeps_compatibility_characters_that_nfkd_would_rewrite() -> None:
    # NFKD turns "ﬁ" into "fi", "²" into "2", "½" into "1⁄2": message text must not change
    assert normalize_text("ﬁn² ½") == "ﬁn² ½"


def test_normalize_removes_direction_marks_and_bom_but_keeps_emoji_joiners() -> None:
    text = "\ufeff\u200eHola\u200f \u202aMaría\u202c \u2066ok\u2069 👨\u200d👩\u200d👧"
    assert normalize_text(text) == "Hola María ok 👨\u200d👩\u200d👧"


def test_normalize_turns_odd_spaces_into_spaces_and_collapses_runs() -> None:
    assert normalize_text("  10:30\u202fPM\u00a0hoy \u2009 ya\t\tvoy  ") == "10:30 PM hoy ya voy"


def test_normalize_keeps_newlines_but_not_the_spaces_around_them() -> None:
    assert normalize_text("first line  \r\n  second\n\nthird ") == "first line\nsecond\n\nthird"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("no emoji here", 0),
        ("mañana ñ é", 0),
        ("jaja 😂😂😂", 3),
        ("👍🏽", 1),  # skin tone
        ("👨\u200d👩\u200d👧\u200d👦", 1),  # ZWJ family
        ("👩🏽\u200d💻 working", 1),  # skin tone inside a ZWJ sequence
        ("🏳️\u200d🌈 🇪🇸🇧🇷", 3),  # ZWJ flag, two country flags
        ("#️⃣ 1️⃣", 2),  # keycaps
        ("❤️ ❤", 2),  # with and without variation selector
    ],
)
def test_emoji_count_counts_sequences_once(text: str, count: int) -> None:
    assert emoji_count(text) == count


def test_emoji_count_agrees_with_the_emoji_package_on_every_emoji() -> None:
    for item in emoji.EMOJI_DATA:
        assert emoji_count(item) == 1, item
        assert emoji_count(f"a{item}b {item}") == emoji.emoji_count(f"a{item}b {item}") == 2


def test_urls_in_finds_schemes_www_and_bare_domains_not_email_domains() -> None:
    text = (
        "mira https://example.com/a?b=1, y www.tienda.es/oferta. "
        "Mapa: maps.app.goo.gl/xyz9 o escribe a ana@example.com (fin)"
    )
    assert urls_in(text) == [
        "https://example.com/a?b=1",
        "www.tienda.es/oferta",
        "maps.app.goo.gl/xyz9",
    ]
    assert urls_in("see you at 10.30, ok...") == []


def test_word_counts_ignore_punctuation_emoji_emoticons_and_spaces() -> None:
    tokenizers = Tokenizers()
    texts = [
        "¡Hola! ¿Cómo estás? 😂 :)",
        "I'll call you at 5, ok?\n\nbye 👋🏽",
        "",
        "ok",
        "ok",
    ]
    # spaCy's English tokenizer splits "I'll" into "I" + "'ll": two words
    assert tokenizers.word_counts(texts, ["es", "en", None, "en", "es"]) == [3, 8, 0, 1, 1]


def test_word_counts_fall_back_to_the_multilanguage_tokenizer() -> None:
    tokenizers = Tokenizers()
    counts = tokenizers.word_counts(["hello there friend", "x y"], ["zz", None])
    assert counts == [3, 2]
    assert tokenizers.tokenizer_for("zz").lang == "xx"
    assert tokenizers.tokenizer_for("de").lang == "de"
    assert tokenizers.tokenizer_for("de") is tokenizers.tokenizer_for("de")


def test_word_counts_needs_one_language_per_text() -> None:
    with pytest.raises(ValueError, match="same length"):
        Tokenizers().word_counts(["a", "b"], ["en"])
