"""Message sentiment from a language model, many messages per request.

Messages are packed into batches (by count and by an input-token budget) and sent with
short ids; the answer must carry exactly those ids, each once, or it is repaired once
and then given up on. A day of 10,000 messages is tens of calls, not 10,000.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from wareader_pipelines.llm.chunking import estimate_tokens
from wareader_pipelines.llm.client import InvalidAnswer, LLMClient, Usage
from wareader_pipelines.llm.models import SentimentBatch, SentimentItem, parse_sentiment_batch
from wareader_pipelines.llm.prompts import SENTIMENT_SYSTEM, sentiment_request
from wareader_pipelines.llm.retrying import RetriesExhausted

OUTPUT_TOKENS_PER_ITEM = 24
OUTPUT_TOKENS_BASE = 64


@dataclass(frozen=True, slots=True)
class SentimentInput:
    """A message to rate: its key (message_id) and the text to send."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Verdicts by message key, keys the model could not rate (with the reason), and cost."""

    verdicts: dict[str, SentimentItem]
    failures: dict[str, str]
    usage: Usage


def batches_of(
    items: Sequence[SentimentInput], *, max_items: int, max_input_tokens: int
) -> list[list[SentimentInput]]:
    """Consecutive batches of at most `max_items` whose texts fit `max_input_tokens`."""
    budget = max_input_tokens - estimate_tokens(SENTIMENT_SYSTEM)
    batches: list[list[SentimentInput]] = []
    current: list[SentimentInput] = []
    used = 0
    for item in items:
        cost = estimate_tokens(item.text) + 8  # the JSON around it and its id
        if current and (len(current) >= max_items or used + cost > budget):
            batches.append(current)
            current, used = [], 0
        current.append(item)
        used += cost
    if current:
        batches.append(current)
    return batches


def _id_checked(expected: set[str]) -> Callable[[str], SentimentBatch]:
    """A parser that accepts only an answer with exactly the `expected` ids, each once."""

    def parse(text: str) -> SentimentBatch:
        batch = parse_sentiment_batch(text)
        seen = [item.id for item in batch.results]
        duplicates = sorted({item_id for item_id in seen if seen.count(item_id) > 1})
        missing = sorted(expected - set(seen), key=_numeric)
        unknown = sorted(set(seen) - expected)
        if duplicates or missing or unknown:
            raise ValueError(
                f"ids do not match the input: missing {missing[:10]}, unknown {unknown[:10]}, "
                f"repeated {duplicates[:10]}"
            )
        return batch

    return parse


def _numeric(item_id: str) -> tuple[int, str]:
    return (int(item_id), "") if item_id.isdigit() else (1 << 30, item_id)


async def rate_batch(client: LLMClient, batch: Sequence[SentimentInput]) -> BatchOutcome:
    """Verdicts for one batch, ids "1".."n" mapped back to message keys."""
    ids = {str(position): item.key for position, item in enumerate(batch, start=1)}
    request = sentiment_request(
        [(position, item.text) for position, item in zip(ids, batch, strict=True)],
        max_output_tokens=OUTPUT_TOKENS_BASE + OUTPUT_TOKENS_PER_ITEM * len(batch),
    )
    try:
        answer, usage = await client.complete_validated(request, _id_checked(set(ids)))
    except (InvalidAnswer, RetriesExhausted) as error:
        spent = error.usage if isinstance(error, InvalidAnswer) else Usage()
        return BatchOutcome({}, {key: str(error) for key in ids.values()}, spent)
    return BatchOutcome({ids[item.id]: item for item in answer.results}, {}, usage)


async def rate_all(
    client: LLMClient,
    items: Sequence[SentimentInput],
    *,
    max_items: int,
    max_input_tokens: int,
) -> BatchOutcome:
    """Every item rated in concurrent batches; failures reported per message key."""
    outcomes = await asyncio.gather(
        *(
            rate_batch(client, batch)
            for batch in batches_of(items, max_items=max_items, max_input_tokens=max_input_tokens)
        )
    )
    verdicts: dict[str, SentimentItem] = {}
    failures: dict[str, str] = {}
    usage = Usage()
    for outcome in outcomes:
        verdicts.update(outcome.verdicts)
        failures.update(outcome.failures)
        usage = usage + outcome.usage
    return BatchOutcome(verdicts, failures, usage)


def merge_verdicts(
    offline: pd.DataFrame, outcome: BatchOutcome, *, provider: str, model: str
) -> pd.DataFrame:
    """The offline rows with the model's verdicts in place; rows it failed keep the offline
    score and say why in `llm_failure`."""
    merged = offline.copy()
    ids = merged["message_id"]
    rated = ids.isin(list(outcome.verdicts))
    verdicts = ids[rated].map(outcome.verdicts)
    merged["label"] = merged["label"].astype(object)
    merged["model"] = merged["model"].astype(object)
    merged["score"] = merged["score"].astype(float)
    merged.loc[rated, "label"] = verdicts.map(lambda verdict: verdict.label)
    merged.loc[rated, "score"] = verdicts.map(lambda verdict: verdict.score)
    merged.loc[rated, "method"] = "llm"
    merged.loc[rated, "model"] = model
    merged.loc[rated, "provider"] = provider
    failed = ids.isin(list(outcome.failures))
    merged["llm_failure"] = merged["llm_failure"].astype(object)
    merged.loc[failed, "llm_failure"] = ids[failed].map(outcome.failures)
    return merged
