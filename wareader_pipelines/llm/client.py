"""The one path every model call takes: cache, rate limit, concurrency bound, retries, validation.

`LLMClient.complete_validated` answers a request with a parsed, validated value: from
the cache when the same request was answered before, else through the gate (slot +
rate limit) with bounded retries, then one repair request if the answer does not
validate. Counters in `CallStats` feed the assets' metadata.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from wareader_pipelines.llm.cache import ResponseCache
from wareader_pipelines.llm.call_gate import CallGate
from wareader_pipelines.llm.chunking import estimate_tokens
from wareader_pipelines.llm.models import ChatReply, ChatRequest
from wareader_pipelines.llm.prompts import repair_request
from wareader_pipelines.llm.providers import ChatTransport
from wareader_pipelines.llm.retrying import (
    RetriesExhausted,
    RetryPolicy,
    TransientProviderError,
)
from wareader_pipelines.observability import telemetry

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass
class CallStats:
    """What the calls of one run cost and how they went."""

    api_calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    repairs: int = 0
    input_tokens: int = 0  # billed in this run (cache hits cost nothing)
    output_tokens: int = 0
    retry_waits: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens an answer took to produce, and whether this run paid for them."""

    input_tokens: int = 0
    output_tokens: int = 0
    api_calls: int = 0
    cache_hits: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.api_calls + other.api_calls,
            self.cache_hits + other.cache_hits,
        )


class InvalidAnswer(Exception):
    """The answer did not validate, even after the repair request."""

    def __init__(self, reason: str, usage: Usage) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage


class LLMClient:
    """Cached, rate-limited, retried and validated calls to one provider's model."""

    def __init__(
        self,
        transport: ChatTransport,
        gate: CallGate,
        *,
        retry: RetryPolicy,
        cache: ResponseCache | None,
        rng: random.Random | None = None,
        cost_of: Callable[[int, int], float | None] | None = None,
    ) -> None:
        self.transport = transport
        self.gate = gate
        self.retry = retry
        self.cache = cache
        self.stats = CallStats()
        self._rng = rng or random.Random()
        self._cost_of = cost_of

    @property
    def provider(self) -> str:
        return self.transport.provider

    @property
    def model(self) -> str:
        return self.transport.model

    async def send(self, request: ChatRequest) -> ChatReply:
        """One answer from the provider, retried on transient failures; no cache."""
        estimate = estimate_tokens(request.system) + estimate_tokens(request.user)
        estimate += request.max_output_tokens
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.gate.admit(estimate) as reservation:
                    self.stats.api_calls += 1
                    reply = await self._timed_send(request)
                    self.gate.limiter.settle(reservation, reply.input_tokens + reply.output_tokens)
            except TransientProviderError as error:
                if self.retry.gives_up(attempt, error):
                    raise RetriesExhausted(
                        f"{self.provider} gave no answer after {attempt} attempt(s): {error}"
                        + (
                            f" (asked to retry after {error.retry_after:.0f} s)"
                            if error.retry_after
                            else ""
                        )
                    ) from error
                wait = self.retry.delay(attempt, error.retry_after, self._rng)
                if error.retry_after:
                    # A 429's Retry-After speaks for the whole account: hold every caller.
                    self.gate.limiter.pause_until(time.monotonic() + error.retry_after)
                self.stats.retries += 1
                self.stats.retry_waits.append(wait)
                log.info("%s: %s; retry %d in %.2f s", self.provider, error, attempt, wait)
                await asyncio.sleep(wait)
                continue
            self.stats.input_tokens += reply.input_tokens
            self.stats.output_tokens += reply.output_tokens
            return reply

    async def _timed_send(self, request: ChatRequest) -> ChatReply:
        """The transport's answer, traced and counted (tokens, cost, latency) for telemetry."""
        recorder = telemetry.current()
        started = time.perf_counter()
        outcome = "error"
        input_tokens = output_tokens = 0
        try:
            with recorder.span(
                "llm.chat", {"gen_ai.system": self.provider, "gen_ai.request.model": self.model}
            ) as span:
                reply = await self.transport.send(request)
                input_tokens, output_tokens = reply.input_tokens, reply.output_tokens
                span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
                outcome = "ok"
                return reply
        finally:
            recorder.record_llm_call(
                provider=self.provider,
                model=self.model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                seconds=time.perf_counter() - started,
                cost_usd=self._cost_of(input_tokens, output_tokens) if self._cost_of else None,
                outcome=outcome,
            )

    async def complete_validated(
        self, request: ChatRequest, parse: Callable[[str], T]
    ) -> tuple[T, Usage]:
        """The parsed answer to `request` and its usage; InvalidAnswer if even repair fails.

        Transient failures that outlast the retries raise RetriesExhausted; fatal ones
        (bad key, unknown model) raise FatalProviderError.
        """
        if self.cache is not None:
            cached = self.cache.get(request)
            if cached is not None:
                try:
                    value = parse(cached.text)
                except ValueError:
                    pass  # a cache written by older code: ask again
                else:
                    self.stats.cache_hits += 1
                    return value, Usage(cached.input_tokens, cached.output_tokens, 0, 1)
        reply = await self.send(request)
        usage = Usage(reply.input_tokens, reply.output_tokens, 1, 0)
        try:
            value = parse(reply.text)
        except ValueError as first_problem:
            self.stats.repairs += 1
            repaired = await self.send(repair_request(request, reply.text, _short(first_problem)))
            usage = usage + Usage(repaired.input_tokens, repaired.output_tokens, 1, 0)
            try:
                value = parse(repaired.text)
            except ValueError as second_problem:
                raise InvalidAnswer(
                    f"invalid JSON from {self.provider}/{self.model} after one repair attempt: "
                    f"{_short(second_problem)}",
                    usage,
                ) from second_problem
            reply = ChatReply(repaired.text, usage.input_tokens, usage.output_tokens)
        if self.cache is not None:
            self.cache.put(request, ChatReply(reply.text, usage.input_tokens, usage.output_tokens))
        return value, usage


def _short(error: Exception, limit: int = 300) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
