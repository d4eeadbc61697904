"""Every prompt the pipeline sends, in one place, versioned.

`PROMPT_VERSION` is part of the response cache key and of every summary row:
change any text here and bump it, so cached answers to the old prompts are not reused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from wareader_pipelines.llm.models import ChatRequest

PROMPT_VERSION = "2026-11-25.1"

LANGUAGE_NAMES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "hi": "Hindi",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "zh": "Chinese",
}

_SUMMARY_SHAPE = (
    'Answer with one JSON object and nothing else: {"summary": string, "topics": '
    '[string], "action_items": [string], "language": ISO 639-1 code of your summary}. '
    "summary: 2 to 5 sentences on what was asked, answered and decided. topics: at most 5 "
    "short noun phrases. action_items: open requests or promised follow-ups, [] if none."
)

SUMMARY_SYSTEM = (
    "You summarize one day of a WhatsApp conversation between a business and a customer. "
    "Speakers are labelled A, B, C... in order of appearance. Masks such as [PHONE], [EMAIL] "
    "and [URL] stand for removed personal data: never guess what they hid. " + _SUMMARY_SHAPE
)

COMBINE_SYSTEM = (
    "You combine partial summaries of consecutive parts of one day of a WhatsApp "
    "conversation into one summary of the whole day. Keep every open action item. " + _SUMMARY_SHAPE
)

SENTIMENT_SYSTEM = (
    "You rate the sentiment of chat messages in any language. For every message of the "
    'input, return {"id": its id, "label": "positive" | "neutral" | "negative", "score": '
    "a number from -1 (very negative) to 1 (very positive)}. Answer with one JSON object "
    'and nothing else: {"results": [...]}, one entry per input id, no id left out or added.'
)

REPAIR_SYSTEM = (
    "Your previous answer could not be used. Return only the corrected JSON, with exactly "
    "the shape the original instructions asked for, and nothing else."
)


def language_name(code: str) -> str:
    """The English name of a language code, or the code itself when we do not know it."""
    return LANGUAGE_NAMES.get(code, code)


def summary_request(
    transcript: str,
    *,
    language: str,
    max_output_tokens: int,
    part: tuple[int, int] | None = None,
) -> ChatRequest:
    """The request that summarizes a transcript, or part `(i, n)` of a longer one."""
    heading = f"Part {part[0]} of {part[1]} of the day.\n" if part else ""
    user = (
        f"{heading}Write the summary, topics and action items in {language_name(language)}.\n"
        f"Transcript:\n{transcript}"
    )
    return ChatRequest(
        purpose="summary", system=SUMMARY_SYSTEM, user=user, max_output_tokens=max_output_tokens
    )


def combine_request(
    partials: Sequence[str], *, language: str, max_output_tokens: int
) -> ChatRequest:
    """The request that merges partial summaries (JSON texts, in order) into one."""
    numbered = "\n".join(f"Part {i}: {text}" for i, text in enumerate(partials, start=1))
    user = (
        f"Write the combined summary, topics and action items in {language_name(language)}.\n"
        f"Partial summaries, in order:\n{numbered}"
    )
    return ChatRequest(
        purpose="combine", system=COMBINE_SYSTEM, user=user, max_output_tokens=max_output_tokens
    )


def sentiment_request(items: Sequence[tuple[str, str]], *, max_output_tokens: int) -> ChatRequest:
    """The request that rates a batch of `(id, text)` messages."""
    payload = json.dumps(
        {"messages": [{"id": item_id, "text": text} for item_id, text in items]},
        ensure_ascii=False,
    )
    return ChatRequest(
        purpose="sentiment",
        system=SENTIMENT_SYSTEM,
        user=payload,
        max_output_tokens=max_output_tokens,
    )


def repair_request(original: ChatRequest, bad_answer: str, problem: str) -> ChatRequest:
    """A second chance: the original instructions, the unusable answer and what was wrong."""
    user = (
        f"Original instructions:\n{original.system}\n\nOriginal input:\n{original.user}\n\n"
        f"Your answer:\n{bad_answer}\n\nWhat was wrong: {problem}"
    )
    return ChatRequest(
        purpose="repair",
        system=REPAIR_SYSTEM,
        user=user,
        max_output_tokens=original.max_output_tokens,
        json_mode=original.json_mode,
    )
