"""The offline summarizer: no key, no network, and still a summary a person can read.

It quotes the day's most informative messages (those whose content words recur most
across the day), names topics after the most frequent content words, and lists
questions and requests as action items. It quotes rather than translates, so the
summary is in the conversation's own language(s).
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from wareader_pipelines.llm.models import ConversationSummary

MODEL_NAME = "extractive-v1"
MAX_QUOTED = 3
MAX_TOPICS = 5
MAX_ACTION_ITEMS = 3
QUOTE_CHARS = 240

_MASKS = re.compile(r"\[(?:PHONE|EMAIL|URL)\]")
_WORD = re.compile(r"[^\W\d_]{3,}")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
_REQUEST_CUES = re.compile(
    r"\b(?:please|pls|can you|could you|would you|let me know|need|por favor|pueden?|"
    r"podr[ií]a[ns]?|necesito|bitte|k[öo]nnen sie|k[öo]nnten|kannst|brauche|s'il vous pla[iî]t|"
    r"pouvez|pourriez|besoin|per favore|potete|pu[oò]|pode[mr]?|poderia|preciso|"
    r"alsjeblieft|kunt u|graag)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ExtractiveMessage:
    """One message of the day: who said it, what, and in which language (if known)."""

    speaker: str
    text: str
    language: str | None


@lru_cache(maxsize=64)
def stop_words(language: str | None) -> frozenset[str]:
    """spaCy's stop words for `language`, plus English ones (chats mix them in)."""
    words: set[str] = set()
    for code in {"en", language or "en"}:
        words |= {word.lower() for word in _spacy_stop_words(code)}
    return frozenset(words)


@lru_cache(maxsize=64)
def _spacy_stop_words(code: str) -> frozenset[str]:
    """`spacy.lang.<code>.stop_words.STOP_WORDS` (empty for a language spaCy lacks), read from
    that file alone: importing it as a module runs its language package first, whose
    tokenizer exceptions compile hundreds of patterns (seconds per language)."""
    lang = importlib.util.find_spec("spacy.lang")
    folders = lang.submodule_search_locations if lang is not None else None
    if not folders or not code.isidentifier():
        return frozenset()
    path = Path(next(iter(folders))) / code / "stop_words.py"
    if not path.is_file():
        return frozenset()
    spec = importlib.util.spec_from_file_location(f"_wareader_stop_words_{code}", path)
    if spec is None or spec.loader is None:
        return frozenset()
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


def content_words(text: str, language: str | None) -> list[str]:
    """Lower-cased words of three letters or more that are not stop words or masks."""
    return list(_content_words(text, language))


@lru_cache(maxsize=1 << 16)
def _content_words(text: str, language: str | None) -> tuple[str, ...]:
    """`content_words`, kept for texts that recur (greetings, thanks: chats repeat them)."""
    unmasked = _MASKS.sub(" ", text)
    ignored = stop_words(language)
    return tuple(word for word in _WORD.findall(unmasked.lower()) if word not in ignored)


def summarize_extractively(
    messages: Sequence[ExtractiveMessage], *, language: str
) -> ConversationSummary:
    """A summary of a conversation-day quoting its most informative messages."""
    if not messages:
        raise ValueError("nothing to summarize")
    words = [_content_words(message.text, message.language) for message in messages]
    frequency: Counter[str] = Counter(word for message_words in words for word in message_words)
    first_seen: dict[str, int] = {}
    for word in (word for message_words in words for word in message_words):
        first_seen.setdefault(word, len(first_seen))

    def score(index: int) -> float:
        distinct = set(words[index])
        if not distinct:
            return 0.0
        return sum(frequency[word] for word in distinct) / math.sqrt(len(distinct))

    wanted = min(MAX_QUOTED, max(1, math.ceil(len(messages) / 4)))
    ranked = sorted(range(len(messages)), key=lambda index: (-score(index), index))
    chosen = sorted(index for index in ranked[:wanted] if messages[index].text.strip())
    if not chosen:
        chosen = [0]
    summary = " — ".join(
        f"{messages[index].speaker}: {_quoted(messages[index].text)}" for index in chosen
    )

    ordered = sorted(frequency, key=lambda word: (-frequency[word], first_seen[word]))
    recurring = [word for word in ordered if frequency[word] >= 2]
    topics = (recurring or ordered)[:MAX_TOPICS]

    return ConversationSummary(
        summary=summary,
        topics=topics,
        action_items=_action_items(messages),
        language=language,
    )


def _quoted(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"


def _action_items(messages: Sequence[ExtractiveMessage]) -> list[str]:
    """Questions and requests, in order, each once."""
    items: list[str] = []
    for message in messages:
        for sentence, quoted in _requests(message.text):
            if sentence in items:
                continue
            items.append(quoted)
            if len(items) == MAX_ACTION_ITEMS:
                return items
    return items


@lru_cache(maxsize=1 << 16)
def _requests(text: str) -> tuple[tuple[str, str], ...]:
    """The sentences of `text` that read as a question or request (8 characters or more),
    each with its quoted form, in order; kept per text, as chats repeat theirs."""
    found = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        sentence = sentence.strip()
        if len(sentence) >= 8 and ("?" in sentence or _REQUEST_CUES.search(sentence)):
            found.append((sentence, _quoted(sentence)))
    return tuple(found)
