"""Summaries of conversation-days: one request when the day fits, map-reduce when it does not.

A day longer than the input budget is split into consecutive chunks (never cut), each
chunk is summarized, and the partial summaries are combined, in as many rounds as the
budget needs. A day whose answer never validates, or whose calls never succeed, becomes
a failed outcome with the reason; the other days are unaffected.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from wareader_pipelines.llm.cache import sha256_text
from wareader_pipelines.llm.chunking import (
    TranscriptLine,
    estimate_tokens,
    render_transcript,
    split_into_chunks,
)
from wareader_pipelines.llm.client import InvalidAnswer, LLMClient, Usage
from wareader_pipelines.llm.extractive import ExtractiveMessage, summarize_extractively
from wareader_pipelines.llm.models import ConversationSummary, parse_summary
from wareader_pipelines.llm.prompts import (
    COMBINE_SYSTEM,
    SUMMARY_SYSTEM,
    combine_request,
    summary_request,
)
from wareader_pipelines.llm.retrying import RetriesExhausted

FALLBACK_LANGUAGE = "en"
# Room for the instruction line and the "Part i of n" heading around the transcript.
_USER_HEADING_TOKENS = 40


@dataclass(frozen=True, slots=True)
class ConversationDay:
    """What one conversation said on one day, ready for a model."""

    conversation_id: str
    day: date
    lines: tuple[TranscriptLine, ...]

    @property
    def transcript(self) -> str:
        return render_transcript(self.lines)


@dataclass(frozen=True, slots=True)
class SummaryOutcome:
    """A day's summary, or why there is none, with what it cost."""

    conversation_id: str
    day: date
    language: str
    input_sha256: str
    summary: ConversationSummary | None
    failure: str | None
    usage: Usage
    chunk_count: int


def dominant_language(languages: Iterable[str | None], fallback: str = FALLBACK_LANGUAGE) -> str:
    """The most frequent known language code (first seen wins a tie), else `fallback`."""
    counts = Counter(code for code in languages if code)
    if not counts:
        return fallback
    return counts.most_common(1)[0][0]


def summarize_offline(day: ConversationDay, *, language: str) -> SummaryOutcome:
    """The extractive summary of a day: no calls, no tokens."""
    summary = summarize_extractively(
        [ExtractiveMessage(line.speaker, line.text, line.language) for line in day.lines],
        language=language,
    )
    return SummaryOutcome(
        conversation_id=day.conversation_id,
        day=day.day,
        language=language,
        input_sha256=sha256_text(day.transcript),
        summary=summary,
        failure=None,
        usage=Usage(),
        chunk_count=1,
    )


class DaySummarizer:
    """Summarizes conversation-days through a client, within an input-token budget."""

    def __init__(self, client: LLMClient, *, max_input_tokens: int, max_output_tokens: int):
        self.client = client
        self.max_output_tokens = max_output_tokens
        overhead = max(estimate_tokens(SUMMARY_SYSTEM), estimate_tokens(COMBINE_SYSTEM))
        self.budget = max_input_tokens - overhead - _USER_HEADING_TOKENS
        if self.budget < 64:
            raise ValueError(
                f"max_input_tokens={max_input_tokens} leaves no room for a transcript: "
                f"the prompt alone takes ~{overhead + _USER_HEADING_TOKENS} tokens"
            )

    async def summarize_all(
        self, days: Sequence[ConversationDay], languages: Sequence[str]
    ) -> list[SummaryOutcome]:
        """Every day's outcome, in the input order, computed concurrently."""
        return list(
            await asyncio.gather(
                *(
                    self.summarize(day, language=lang)
                    for day, lang in zip(days, languages, strict=True)
                )
            )
        )

    async def summarize(self, day: ConversationDay, *, language: str) -> SummaryOutcome:
        """One day's outcome; provider-fatal errors (bad key, unknown model) propagate."""
        transcript = day.transcript
        chunks = (
            [transcript]
            if estimate_tokens(transcript) <= self.budget
            else split_into_chunks([line.render() for line in day.lines], self.budget)
        )
        usage = Usage()
        try:
            if len(chunks) == 1:
                summary, usage = await self.client.complete_validated(
                    summary_request(
                        transcript, language=language, max_output_tokens=self.max_output_tokens
                    ),
                    parse_summary,
                )
            else:
                summary, usage = await self._map_reduce(chunks, language)
        except (InvalidAnswer, RetriesExhausted) as error:
            spent = error.usage if isinstance(error, InvalidAnswer) else usage
            return SummaryOutcome(
                day.conversation_id,
                day.day,
                language,
                sha256_text(transcript),
                None,
                str(error),
                spent,
                len(chunks),
            )
        return SummaryOutcome(
            day.conversation_id,
            day.day,
            language,
            sha256_text(transcript),
            summary,
            None,
            usage,
            len(chunks),
        )

    async def _map_reduce(
        self, chunks: Sequence[str], language: str
    ) -> tuple[ConversationSummary, Usage]:
        mapped = await asyncio.gather(
            *(
                self.client.complete_validated(
                    summary_request(
                        chunk,
                        language=language,
                        max_output_tokens=self.max_output_tokens,
                        part=(index, len(chunks)),
                    ),
                    parse_summary,
                )
                for index, chunk in enumerate(chunks, start=1)
            )
        )
        usage = sum((item[1] for item in mapped), Usage())
        partials = [item[0].model_dump_json() for item in mapped]
        while True:
            groups = _groups_within(partials, self.budget)
            if len(groups) == 1:
                summary, spent = await self.client.complete_validated(
                    combine_request(
                        groups[0], language=language, max_output_tokens=self.max_output_tokens
                    ),
                    parse_summary,
                )
                return summary, usage + spent
            combined = await asyncio.gather(
                *(
                    self.client.complete_validated(
                        combine_request(
                            group, language=language, max_output_tokens=self.max_output_tokens
                        ),
                        parse_summary,
                    )
                    for group in groups
                )
            )
            usage = sum((item[1] for item in combined), usage)
            partials = [item[0].model_dump_json() for item in combined]


def _groups_within(partials: Sequence[str], budget: int) -> list[list[str]]:
    """Consecutive partial summaries grouped so each group's text fits the budget (>= 2 each)."""
    groups: list[list[str]] = [[]]
    used = 0
    for partial in partials:
        cost = estimate_tokens(partial) + 4
        if len(groups[-1]) >= 2 and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(partial)
        used += cost
    return groups
