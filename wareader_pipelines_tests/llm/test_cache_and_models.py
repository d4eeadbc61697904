"""The response cache's key and durability, and validation of what models return."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from wareader_pipelines.llm.cache import ResponseCache
from wareader_pipelines.llm.models import (
    ChatReply,
    ChatRequest,
    parse_sentiment_batch,
    parse_summary,
)
from wareader_pipelines.resources.llm import LLMResource

REQUEST = ChatRequest("summary", "system", "user text", 500)


def test_the_cache_survives_reopening_and_keys_on_everything_that_matters(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "llm.sqlite"
    cache = ResponseCache(path, provider="openai", model="m", prompt_version="1")
    cache.put(REQUEST, ChatReply('{"a": 1}', 10, 5))
    cache.close()

    reopened = ResponseCache(path, provider="openai", model="m", prompt_version="1")
    hit = reopened.get(REQUEST)
    assert hit == ChatReply('{"a": 1}', 10, 5, from_cache=True)
    assert reopened.get(ChatRequest("summary", "system", "user text!", 500)) is None
    assert reopened.get(ChatRequest("summary", "system", "user text", 600)) is None
    for other in (
        ResponseCache(path, provider="anthropic", model="m", prompt_version="1"),
        ResponseCache(path, provider="openai", model="m2", prompt_version="1"),
        ResponseCache(path, provider="openai", model="m", prompt_version="2"),
    ):
        assert other.get(REQUEST) is None
        other.close()
    assert len(reopened) == 1


def test_summaries_parse_from_fenced_or_wrapped_json() -> None:
    text = 'Here you go:\n```json\n{"summary": "S", "topics": [" a ", ""], "language": "ES"}\n```'
    summary = parse_summary(text)
    assert (summary.summary, summary.topics, summary.action_items, summary.language) == (
        "S",
        ["a"],
        [],
        "es",
    )


@pytest.mark.parametrize(
    "text",
    ["not json", '{"topics": []}', '{"summary": "", "language": "en"}', '{"summary": "x"}'],
)
def test_invalid_summaries_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_summary(text)


def test_sentiment_accepts_an_array_or_an_object_and_checks_ranges() -> None:
    bare = parse_sentiment_batch('[{"id": 1, "label": "positive", "score": 0.5}]')
    assert bare.results[0].id == "1"
    wrapped = parse_sentiment_batch('{"items": [{"id": "2", "label": "neutral", "score": 0}]}')
    assert wrapped.results[0].label == "neutral"
    with pytest.raises(ValidationError):
        parse_sentiment_batch('[{"id": 1, "label": "positive", "score": 3}]')
    with pytest.raises(ValidationError):
        parse_sentiment_batch('[{"id": 1, "label": "happy", "score": 0.1}]')


def test_configured_prices_cost_rows_and_an_unknown_price_is_null_not_zero() -> None:
    priced = LLMResource(provider="openai", model="my-model", prices={"my-model": [1.0, 2.0]})
    assert priced.cost_of(1_000_000, 500_000) == pytest.approx(2.0)
    assert LLMResource(provider="openai").cost_of(1_000_000, 0) == pytest.approx(0.25)
    assert LLMResource(provider="anthropic", model="unpriced").cost_of(10, 10) is None
    assert LLMResource(provider="local").cost_of(10, 10) == 0.0  # your own server
