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

import pandas as pd

from wareader_pipelines.llm.chunking import TranscriptLine, speaker_labels
from wareader_pipelines.llm.prompts import PROMPT_VERSION
from wareader_pipelines.llm.summarize import ConversationDay, SummaryOutcome

SKIPPED_TYPES = frozenset({"reaction", "deleted", "system"})


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
    frame["day"] = frame["sent_at"].dt.date
    frame = frame.sort_values(["day", "conversation_id", "sent_at", "message_id"], kind="stable")
    result: list[tuple[ConversationDay, DayFacts]] = []
    for (day, conversation_id), group in frame.groupby(["day", "conversation_id"], sort=False):
        senders = [value if isinstance(value, str) else None for value in group["sender_id"]]
        labels = speaker_labels(senders)
        lines: list[TranscriptLine] = []
        for row, sender in zip(group.itertuples(index=False), senders, strict=True):
            text = getattr(row, text_column)
            if not isinstance(text, str) or not text.strip():
                text = f"[{row.message_type}]" if row.is_media else ""
            if not text:
                continue
            language = row.language if isinstance(row.language, str) else None
            lines.append(
                TranscriptLine(row.sent_at.to_pydatetime(), labels[sender], text, language)
            )
        if not lines:
            continue
        languages = Counter(code for code in group["language"] if isinstance(code, str))
        facts = DayFacts(
            message_count=len(group),
            participant_count=len(labels),
            languages=[code for code, _ in languages.most_common()],
            first_message_at=group["sent_at"].iloc[0].to_pydatetime(),
            last_message_at=group["sent_at"].iloc[-1].to_pydatetime(),
        )
        result.append((ConversationDay(str(conversation_id), day, tuple(lines)), facts))
    return result


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
