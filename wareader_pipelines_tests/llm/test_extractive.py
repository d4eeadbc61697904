"""The offline summarizer quotes informative messages, names topics, lists requests."""

from __future__ import annotations

import pytest

from wareader_pipelines.llm.extractive import (
    ExtractiveMessage,
    content_words,
    summarize_extractively,
)


def test_content_words_drop_stop_words_and_masks() -> None:
    assert content_words("Call me on [PHONE], the blender is broken", "en") == [
        "blender",
        "broken",
    ]
    assert "tienen" not in content_words("¿tienen la batidora en color rojo?", "es")


def test_summary_quotes_the_messages_that_carry_the_day() -> None:
    messages = [
        ExtractiveMessage("A", "hi", "en"),
        ExtractiveMessage(
            "A", "My blender order A-1042 has not shipped, can you check the order?", "en"
        ),
        ExtractiveMessage("B", "ok", "en"),
        ExtractiveMessage("B", "The blender order ships today, sorry about the delay.", "en"),
        ExtractiveMessage("A", "thanks", "en"),
    ]
    summary = summarize_extractively(messages, language="en")
    assert summary.summary.startswith("A: My blender order")
    assert "B: The blender order ships today" in summary.summary
    assert "hi" not in summary.summary.split(" — ")
    assert summary.topics[:2] == ["order", "blender"]  # 3 and 2 mentions
    assert summary.action_items == [
        "My blender order A-1042 has not shipped, can you check the order?"
    ]
    assert summary.language == "en"


def test_requests_in_other_languages_are_action_items() -> None:
    messages = [
        ExtractiveMessage("A", "Bitte schicken Sie mir die Rechnung noch einmal.", "de"),
        ExtractiveMessage("B", "Gerne.", "de"),
    ]
    summary = summarize_extractively(messages, language="de")
    assert summary.action_items == ["Bitte schicken Sie mir die Rechnung noch einmal."]
    assert summary.language == "de"


def test_nothing_to_summarize_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarize_extractively([], language="en")


@pytest.mark.parametrize("code", ["en", "es", "pt", "de"])
def test_stop_words_are_spacys_own(code: str) -> None:
    import importlib

    from wareader_pipelines.llm.extractive import stop_words

    english = importlib.import_module("spacy.lang.en.stop_words").STOP_WORDS
    own = importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS
    assert stop_words(code) == {word.lower() for word in (*english, *own)}
    assert stop_words("no-such-language") == {word.lower() for word in english}
