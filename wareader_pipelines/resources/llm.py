"""The language-model resource: one provider chosen by configuration, offline by default.

`provider` is `extractive` (offline, the default: no key, no network), `openai`,
`anthropic`, `azure` (Azure OpenAI) or `local` (any OpenAI-compatible server).
Every network call goes through the same client: durable response cache, requests-
and tokens-per-minute limits, a concurrency bound, timeouts, bounded retries that
honour Retry-After, and JSON answers validated with pydantic. Text sent out is the
redacted text unless `send_raw_text` says otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from dagster import ConfigurableResource, Failure
from pydantic import Field

from wareader_pipelines.lib.rate_limit import RateLimiter
from wareader_pipelines.llm.cache import ResponseCache
from wareader_pipelines.llm.call_gate import CallGate
from wareader_pipelines.llm.client import CallStats, LLMClient
from wareader_pipelines.llm.pricing import cost_usd, price_table
from wareader_pipelines.llm.prompts import PROMPT_VERSION
from wareader_pipelines.llm.providers import (
    NETWORK_PROVIDERS,
    PROVIDER_DEFAULTS,
    PROVIDERS,
    AnthropicTransport,
    ChatTransport,
    OpenAICompatibleTransport,
)
from wareader_pipelines.llm.retrying import FatalProviderError, RetryPolicy
from wareader_pipelines.llm.sentiment_batches import BatchOutcome, SentimentInput, rate_all
from wareader_pipelines.llm.summarize import (
    ConversationDay,
    DaySummarizer,
    SummaryOutcome,
    dominant_language,
    summarize_offline,
)
from wareader_pipelines.resources.shared_rate_limit import (
    SharedLLMLimiter,
    SharedRateLimiter,
    llm_limits,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SummaryRun:
    """The outcome of every conversation-day, and what the calls cost."""

    outcomes: list[SummaryOutcome]
    stats: CallStats


@dataclass(frozen=True, slots=True)
class SentimentRun:
    """Model verdicts by message key, keys it could not rate, and what the calls cost."""

    outcome: BatchOutcome
    stats: CallStats


class LLMResource(ConfigurableResource):
    """Summaries and sentiment from OpenAI, Anthropic, Azure OpenAI, a local server, or offline."""

    provider: str = Field(
        default="extractive",
        description="openai, anthropic, azure, local (OpenAI-compatible server) or extractive "
        "(offline, no key). Env: WAREADER_LLM_PROVIDER.",
    )
    model: str | None = Field(
        default=None,
        description="Model name (Azure: deployment name); empty means the provider's default "
        "(gpt-5-mini, claude-sonnet-4-6, llama3.1:8b). Env: WAREADER_LLM_MODEL.",
    )
    api_key: str | None = Field(
        default=None,
        description="The provider's key: OPENAI_API_KEY, ANTHROPIC_API_KEY or AZURE_OPENAI_API_KEY.",
    )
    base_url: str | None = Field(
        default=None,
        description="API base URL: required meaning for `local` (default Ollama's "
        "http://localhost:11434/v1), optional for the others (proxies, tests). "
        "Env: WAREADER_LLM_BASE_URL.",
    )
    azure_endpoint: str | None = Field(
        default=None, description="Azure OpenAI endpoint. Env: AZURE_OPENAI_ENDPOINT."
    )
    azure_api_version: str = Field(default="2024-10-21", description="Azure OpenAI API version.")
    max_concurrency: int = Field(default=8, description="Calls in flight at most.")
    requests_per_minute: int | None = Field(
        default=None,
        description="Request limit per window; empty: the provider's default (seed quota "
        "table); 0: no limit.",
    )
    tokens_per_minute: int | None = Field(
        default=None,
        description="Token limit (input estimate + output budget) per window; empty: the "
        "provider's default; 0: no limit.",
    )
    rate_window_seconds: float = Field(
        default=60.0, description="The window the per-minute limits count over (60)."
    )
    requests_per_day: int | None = Field(
        default=None,
        description="Requests per day for the account; counted only with `rate_limit_url`.",
    )
    tokens_per_day: int | None = Field(
        default=None,
        description="Tokens per day for the account; counted only with `rate_limit_url`.",
    )
    rate_limit_url: str | None = Field(
        default=None,
        description="PostgreSQL URL where the limits are counted for every process together "
        "(WAREADER_RATE_LIMIT_URL); empty: each process counts its own (per minute only).",
    )
    timeout_seconds: float = Field(default=60.0, description="Timeout of one HTTP call.")
    max_attempts: int = Field(default=5, description="Attempts per call, the first included.")
    backoff_base_seconds: float = Field(default=1.0, description="First backoff step.")
    backoff_max_seconds: float = Field(default=30.0, description="Longest backoff step.")
    longest_retry_after_seconds: float = Field(
        default=120.0,
        description="A Retry-After longer than this fails the row instead of waiting.",
    )
    max_input_tokens: int = Field(
        default=6_000,
        description="Input budget of one summary request; longer days are map-reduced. Keep "
        "it plus max_output_tokens under tokens_per_minute.",
    )
    max_output_tokens: int = Field(default=800, description="Answer budget of one summary.")
    sentiment_with_llm: bool = Field(
        default=True,
        description="With a network provider, rate sentiment with it (batched) instead of "
        "offline VADER/emoji.",
    )
    sentiment_batch_size: int = Field(default=200, description="Messages per sentiment request.")
    send_raw_text: bool = Field(
        default=False,
        description="Send text_clean (links kept; phone numbers, e-mails and names still "
        "masked) instead of text_redacted (links masked too) to the provider. Off unless you "
        "have agreed it with the data's owners.",
    )
    summary_language: str | None = Field(
        default=None,
        description="ISO 639-1 code to write every summary in; empty: each conversation's "
        "dominant language.",
    )
    cache_path: str = Field(
        default="data/cache/llm.sqlite",
        description="SQLite file of cached answers (under WAREADER_DATA_DIR/cache).",
    )
    use_cache: bool = Field(default=True, description="Read and write the response cache.")
    prices: dict[str, list[float]] = Field(
        default_factory=dict,
        description='USD per 1M tokens by model, [input, output], e.g. {"my-model": [0.5, 1.5]}; '
        "adds to the embedded list prices.",
    )
    json_mode: bool = Field(
        default=True,
        description="Ask OpenAI-compatible servers for JSON output (response_format); turn off "
        "for local servers that reject it.",
    )

    @property
    def is_offline(self) -> bool:
        """Whether no network provider is configured."""
        return self.provider == "extractive"

    @property
    def resolved_model(self) -> str:
        """The configured model, else the provider's default."""
        self._check_provider()
        return self.model or PROVIDER_DEFAULTS[self.provider].model

    @property
    def text_column(self) -> str:
        """Which cleaned_messages column is sent to the provider."""
        return "text_clean" if self.send_raw_text else "text_redacted"

    def cost_of(self, input_tokens: int, output_tokens: int) -> float | None:
        """USD for the tokens on the configured model; None when its price is unknown."""
        if self.is_offline:
            return 0.0
        table = price_table(self.prices)
        if self.provider == "local" and self.resolved_model not in table:
            return 0.0
        return cost_usd(table, self.resolved_model, input_tokens, output_tokens)

    def language_for(self, day: ConversationDay) -> str:
        """The configured summary language, else the day's dominant language."""
        return self.summary_language or dominant_language(line.language for line in day.lines)

    def summarize(self, days: Sequence[ConversationDay]) -> SummaryRun:
        """A summary outcome per day (failed ones carry their reason), in input order."""
        languages = [self.language_for(day) for day in days]
        if self.is_offline:
            outcomes = [
                summarize_offline(day, language=language)
                for day, language in zip(days, languages, strict=True)
            ]
            return SummaryRun(outcomes, CallStats())

        async def work(client: LLMClient) -> list[SummaryOutcome]:
            summarizer = DaySummarizer(
                client,
                max_input_tokens=self.max_input_tokens,
                max_output_tokens=self.max_output_tokens,
            )
            return await summarizer.summarize_all(days, languages)

        outcomes, stats = self._run(work)
        return SummaryRun(outcomes, stats)

    def rate_sentiment(self, items: Sequence[SentimentInput]) -> SentimentRun:
        """Model verdicts for `items` in batches; requires a network provider."""
        if self.is_offline:
            raise ValueError("the extractive provider does not rate sentiment; use nlp.sentiment")

        async def work(client: LLMClient) -> BatchOutcome:
            return await rate_all(
                client,
                items,
                max_items=self.sentiment_batch_size,
                max_input_tokens=self.max_input_tokens,
            )

        outcome, stats = self._run(work)
        return SentimentRun(outcome, stats)

    def _check_provider(self) -> None:
        if self.provider not in PROVIDERS:
            raise Failure(
                description=f"Unknown LLM provider {self.provider!r}: set WAREADER_LLM_PROVIDER "
                f"(llm resource field provider) to one of {', '.join(PROVIDERS)}."
            )

    def _transport(self) -> ChatTransport:
        self._check_provider()
        defaults = PROVIDER_DEFAULTS[self.provider]
        if defaults.key_variable and not self.api_key:
            raise Failure(
                description=f"LLM provider {self.provider!r} needs an API key: set "
                f"{defaults.key_variable} (llm resource field api_key), or set "
                "WAREADER_LLM_PROVIDER=extractive to summarize offline."
            )
        if self.provider == "anthropic":
            return AnthropicTransport(
                model=self.resolved_model,
                api_key=self.api_key,
                base_url=self.base_url,
                timeout_seconds=self.timeout_seconds,
            )
        return OpenAICompatibleTransport(
            provider=self.provider,
            model=self.resolved_model,
            api_key=self.api_key,
            base_url=self.base_url or defaults.base_url,
            timeout_seconds=self.timeout_seconds,
            azure_endpoint=self.azure_endpoint,
            azure_api_version=self.azure_api_version,
            json_mode=self.json_mode,
        )

    def _limit(self, configured: int | None, default: int | None) -> int | None:
        value = default if configured is None else configured
        return value or None

    def build_client(self) -> LLMClient:
        """A client for the configured provider; call inside a running event loop."""
        assert self.provider in NETWORK_PROVIDERS
        defaults = PROVIDER_DEFAULTS[self.provider]
        requests = self._limit(self.requests_per_minute, defaults.requests_per_minute)
        tokens = self._limit(self.tokens_per_minute, defaults.tokens_per_minute)
        limits = llm_limits(
            requests_per_minute=requests,
            tokens_per_minute=tokens,
            requests_per_day=self.requests_per_day,
            tokens_per_day=self.tokens_per_day,
            window_seconds=self.rate_window_seconds,
        )
        limiter: RateLimiter | SharedLLMLimiter
        if self.rate_limit_url and limits:
            # One account's quota, shared by every run and machine: counted in PostgreSQL.
            limiter = SharedLLMLimiter(
                SharedRateLimiter(self.rate_limit_url, f"llm:{self.provider}", limits)
            )
        else:
            limiter = RateLimiter(
                requests_per_window=requests,
                tokens_per_window=tokens,
                window_seconds=self.rate_window_seconds,
            )
        cache = (
            ResponseCache(
                self.cache_path,
                provider=self.provider,
                model=self.resolved_model,
                prompt_version=PROMPT_VERSION,
            )
            if self.use_cache
            else None
        )
        return LLMClient(
            self._transport(),
            CallGate(limiter, max_concurrency=self.max_concurrency),
            retry=RetryPolicy(
                max_attempts=self.max_attempts,
                base_seconds=self.backoff_base_seconds,
                max_seconds=self.backoff_max_seconds,
                longest_retry_after=self.longest_retry_after_seconds,
            ),
            cache=cache,
            cost_of=self.cost_of,
        )

    def _run(self, work: Callable[[LLMClient], Awaitable[T]]) -> tuple[T, CallStats]:
        """Run `work` with a fresh client in its own event loop; fatal errors fail the step."""

        async def main() -> tuple[T, CallStats]:
            client = self.build_client()
            try:
                return await work(client), client.stats
            finally:
                await client.transport.close()
                if client.cache is not None:
                    client.cache.close()
                if isinstance(client.gate.limiter, SharedLLMLimiter):
                    client.gate.limiter.shared.close()

        try:
            return asyncio.run(main())
        except FatalProviderError as error:
            raise Failure(description=str(error)) from error


def api_key_variable(provider: str | None) -> str | None:
    """The environment variable holding `provider`'s API key (None: it needs none)."""
    defaults = PROVIDER_DEFAULTS.get(provider or "extractive")
    return defaults.key_variable if defaults else None
