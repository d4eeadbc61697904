"""From cleaned messages to conversation-days and back to summary rows (pandas, no Dagster).

A conversation-day is every non-system message of one conversation on one UTC day,
in order, with speakers relabelled A, B, ... (pseudonyms mean nothing to a model and
cost tokens). Media without a caption appear as `[image]`, `[audio]`..., so the model
knows something was sent.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from wareader_pipelines.llm.chunking import TranscriptLine, speaker_labels
from wareader_pipelines.llm.prompts import PROMPT_VERSION
from wareader_pipelines.llm.summarize import ConversationDay, SummaryOutcome

SKIPPED_TYPES = frozenset({"reaction", "deleted", "system"})
# One day in each datetime64 unit pandas keeps times in.
_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_NO_DAY = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What the table says about a conversation-day besides the summary."""

    message_count: int
    participant_count: int
    languages: list[str]  # most frequent first
    first_message_at: datetime
    last_message_at: datetime


def conversation_days(
    cleaned: pd.DataFrame, *, text_column: str
) -> list[tuple[ConversationDay, DayFacts]]:
    """Every conversation-day in `cleaned`, ordered by day then conversation id."""
    if cleaned.empty:
        return []
    frame = cleaned.loc[
        ~cleaned["is_system"].fillna(False).astype(bool)
        & ~cleaned["message_type"].isin(SKIPPED_TYPES)
    ].copy()
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    frame["is_media"] = frame["is_media"].fillna(False).astype(bool)
    # The UTC day as a number (days since 1970; a missing time last, as NaT sorts, its rows
    # left out below): it sorts like the day's date, as integers instead of date objects.
    moments = frame["sent_at"].array
    frame["_day"] = np.where(moments.isna(), _NO_DAY, moments.asi8 // _DAY[moments.unit])
    frame = frame.sort_values(["_day", "conversation_id", "sent_at", "message_id"], kind="stable")
    # Plain lists and the boundaries of each (day, conversation) run of the sorted rows: what
    # `groupby(...)` and `itertuples()` gave per group, without a frame and a namedtuple
    # class per conversation-day (that was most of this function's time). Times become
    # datetimes in one call, not a Timestamp per row.
    days = frame["_day"].tolist()
    conversations = frame["conversation_id"].tolist()
    sent_at = list(frame["sent_at"].array.to_pydatetime())
    senders = [value if isinstance(value, str) else None for value in frame["sender_id"]]
    texts = frame[text_column].tolist()
    message_types = frame["message_type"].tolist()
    is_media = frame["is_media"].tolist()
    languages = [code if isinstance(code, str) else None for code in frame["language"]]
    result: list[tuple[ConversationDay, DayFacts]] = []
    for first, end in _runs(days, conversations):
        conversation_id = conversations[first]
        if days[first] == _NO_DAY or _missing(conversation_id):
            continue  # groupby leaves out rows without a key
        day = sent_at[first].date()
        labels = speaker_labels(senders[first:end])
        lines: list[TranscriptLine] = []
        for index in range(first, end):
            text = texts[index]
            if not isinstance(text, str) or not text.strip():
                text = f"[{message_types[index]}]" if is_media[index] else ""
            if not text:
                continue
            lines.append(
                TranscriptLine(
                    sent_at[index],
                    labels[senders[index]],
                    text,
                    languages[index],
                )
            )
        if not lines:
            continue
        counted = Counter(code for code in languages[first:end] if code is not None)
        facts = DayFacts(
            message_count=end - first,
            participant_count=len(labels),
            languages=[code for code, _ in counted.most_common()],
            first_message_at=sent_at[first],
            last_message_at=sent_at[end - 1],
        )
        result.append((ConversationDay(str(conversation_id), day, tuple(lines)), facts))
    return result


def _runs(days: Sequence[object], conversations: Sequence[object]) -> list[tuple[int, int]]:
    """[first, end) of each run of equal (day, conversation) in rows sorted by both."""
    runs: list[tuple[int, int]] = []
    first = 0
    for index in range(1, len(days) + 1):
        if (
            index == len(days)
            or days[index] != days[first]
            or conversations[index] != conversations[first]
        ):
            runs.append((first, index))
            first = index
    return runs


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def summary_rows(
    outcomes: Sequence[SummaryOutcome],
    facts: Sequence[DayFacts],
    *,
    provider: str,
    model: str,
    cost_of: Callable[[int, int], float | None],
) -> pd.DataFrame:
    """The conversation_summaries rows for these outcomes (failed ones with their reason)."""
    rows = []
    for outcome, fact in zip(outcomes, facts, strict=True):
        summary = outcome.summary
        rows.append(
            {
                "conversation_id": outcome.conversation_id,
                "day": outcome.day,
                "day_start": _midnight(outcome.day),
                "status": "ok" if summary is not None else "failed",
                "summary": summary.summary if summary else None,
                "topics": json.dumps(summary.topics, ensure_ascii=False) if summary else None,
                "action_items": (
                    json.dumps(summary.action_items, ensure_ascii=False) if summary else None
                ),
                "summary_language": outcome.language,
                "message_count": fact.message_count,
                "participant_count": fact.participant_count,
                "languages": json.dumps(fact.languages),
                "first_message_at": fact.first_message_at,
                "last_message_at": fact.last_message_at,
                "provider": provider,
                "model": model,
                "prompt_version": PROMPT_VERSION,
                "input_sha256": outcome.input_sha256,
                "chunk_count": outcome.chunk_count,
                "input_tokens": outcome.usage.input_tokens,
                "output_tokens": outcome.usage.output_tokens,
                "cost_usd": cost_of(outcome.usage.input_tokens, outcome.usage.output_tokens),
                "api_calls": outcome.usage.api_calls,
                "cache_hits": outcome.usage.cache_hits,
                "failure_reason": outcome.failure,
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def _midnight(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.isoformat(), tz="UTC")


_COLUMNS = [
    "conversation_id",
    "day",
    "day_start",
    "status",
    "summary",
    "topics",
    "action_items",
    "summary_language",
    "message_count",
    "participant_count",
    "languages",
    "first_message_at",
    "last_message_at",
    "provider",
    "model",
    "prompt_version",
    "input_sha256",
    "chunk_count",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "api_calls",
    "cache_hits",
    "failure_reason",
]
