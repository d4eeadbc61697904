"""What the language model must return, as pydantic models, and the plain records around calls.

Replies are validated here, never trusted: a summary without a `summary` string or a
sentiment item with a score outside -1..1 is a validation error, which the client
answers with one repair request before recording the row as failed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ConversationSummary(BaseModel):
    """One conversation-day (or one chunk of it), summarized."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, description="A few sentences a person can read.")
    topics: list[str] = Field(default_factory=list, description="Short topic phrases.")
    action_items: list[str] = Field(
        default_factory=list, description="Open requests or promised follow-ups."
    )
    language: str = Field(min_length=2, description="ISO 639-1 code of the summary's language.")

    @field_validator("topics", "action_items")
    @classmethod
    def _no_blank_items(cls, items: list[str]) -> list[str]:
        return [item.strip() for item in items if item and item.strip()]

    @field_validator("language")
    @classmethod
    def _lower_code(cls, code: str) -> str:
        return code.strip().lower()


SentimentLabel = Literal["positive", "neutral", "negative"]


class SentimentItem(BaseModel):
    """The model's verdict on one message of a batch."""

    model_config = ConfigDict(extra="ignore")

    id: str
    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> str:
        return str(value)


class SentimentBatch(BaseModel):
    """A batch's verdicts; a bare JSON array is accepted as the `results` list."""

    model_config = ConfigDict(extra="ignore")

    results: list[SentimentItem]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call: a system prompt, one user message, and how long the answer may be."""

    purpose: str  # "summary", "combine", "sentiment" or "repair": for logs and the test server
    system: str
    user: str
    max_output_tokens: int
    json_mode: bool = True


@dataclass(frozen=True, slots=True)
class ChatReply:
    """What came back, with the provider's own token counts."""

    text: str
    input_tokens: int
    output_tokens: int
    from_cache: bool = False


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def json_payload(text: str) -> object:
    """The JSON value in a reply, tolerating Markdown fences and prose around one object/array.

    Raises ValueError (json.JSONDecodeError) when there is no parseable JSON.
    """
    stripped = _FENCE.sub("", text.strip())
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
        if not starts:
            raise
        start = min(starts)
        end = max(stripped.rfind("}"), stripped.rfind("]"))
        return json.loads(stripped[start : end + 1])


def parse_summary(text: str) -> ConversationSummary:
    """A validated summary from a reply's text; ValueError if it is not one."""
    return ConversationSummary.model_validate(json_payload(text))


def parse_sentiment_batch(text: str) -> SentimentBatch:
    """Validated sentiment verdicts from a reply's text; ValueError if they are not."""
    payload = json_payload(text)
    if isinstance(payload, list):
        payload = {"results": payload}
    if isinstance(payload, dict) and "results" not in payload:
        lists = [value for value in payload.values() if isinstance(value, list)]
        if len(lists) == 1:
            payload = {"results": lists[0]}
    return SentimentBatch.model_validate(payload)
