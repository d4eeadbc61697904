"""The wire to each model provider, through its official SDK, with errors made provider-neutral.

`openai`, `azure` and `local` (any OpenAI-compatible server: Ollama, vLLM, llama.cpp)
speak chat completions through the `openai` SDK; `anthropic` speaks messages through
the `anthropic` SDK. The SDKs' own retries are switched off (`max_retries=0`): the
client retries itself, so waits and attempts are counted and bounded in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from wareader_pipelines.lib.retrying import is_retryable_status, retry_after_seconds
from wareader_pipelines.llm.models import ChatReply, ChatRequest
from wareader_pipelines.llm.retrying import (
    FatalProviderError,
    TransientProviderError,
)

if TYPE_CHECKING:  # the SDKs take seconds to import: loaded when a transport is made
    import openai

NETWORK_PROVIDERS = ("openai", "anthropic", "azure", "local")
PROVIDERS = (*NETWORK_PROVIDERS, "extractive")


@dataclass(frozen=True, slots=True)
class ProviderDefaults:
    """What a provider uses when configuration does not say."""

    model: str
    requests_per_minute: int | None
    tokens_per_minute: int | None
    key_variable: str | None  # the environment variable its API key comes from
    base_url: str | None = None


# Rate limits: the seed's quota table gives OpenAI 10,000 tokens/min and Anthropic
# 1,000 requests/min; the other figure of each pair is the provider's own first paid
# tier, so a fresh account is not throttled into 429s.
PROVIDER_DEFAULTS: dict[str, ProviderDefaults] = {
    "openai": ProviderDefaults("gpt-5-mini", 500, 10_000, "OPENAI_API_KEY"),
    "azure": ProviderDefaults("gpt-5-mini", 500, 10_000, "AZURE_OPENAI_API_KEY"),
    "anthropic": ProviderDefaults("claude-sonnet-4-6", 1_000, 30_000, "ANTHROPIC_API_KEY"),
    "local": ProviderDefaults("llama3.1:8b", 600, None, None, "http://localhost:11434/v1"),
    "extractive": ProviderDefaults("extractive-v1", None, None, None),
}


class ChatTransport(Protocol):
    """Sends one chat request and returns the answer; raises Transient/FatalProviderError."""

    provider: str
    model: str

    async def send(self, request: ChatRequest) -> ChatReply: ...

    async def close(self) -> None: ...


def _fatal_message(provider: str, model: str, status: int, detail: str) -> str:
    defaults = PROVIDER_DEFAULTS[provider]
    key = defaults.key_variable or "the llm resource's api_key"
    if status == 401:
        fix = f"the API key was rejected: set {key} (llm resource field api_key)"
    elif status == 403:
        fix = f"the API key may not use model {model!r}: check {key} and WAREADER_LLM_MODEL"
    elif status == 404:
        where = (
            "AZURE_OPENAI_ENDPOINT and the deployment name in WAREADER_LLM_MODEL"
            if provider == "azure"
            else "WAREADER_LLM_MODEL and WAREADER_LLM_BASE_URL"
        )
        fix = f"model {model!r} or the endpoint was not found: check {where}"
    else:
        fix = (
            f"the request was refused as invalid: check WAREADER_LLM_MODEL ({model!r}) and "
            "the llm resource's max_output_tokens and json_mode"
        )
    return f"LLM provider {provider!r} answered HTTP {status}: {fix}. Provider said: {detail}"


def _translated(provider: str, model: str, error: Exception) -> Exception:
    """The provider-neutral error for an SDK exception (either SDK)."""
    import anthropic
    import openai

    if isinstance(error, openai.APITimeoutError | anthropic.APITimeoutError):
        return TransientProviderError(f"{provider}: timed out", status=None, retry_after=None)
    if isinstance(error, openai.APIConnectionError | anthropic.APIConnectionError):
        return TransientProviderError(
            f"{provider}: connection failed ({error})", status=None, retry_after=None
        )
    if isinstance(error, openai.APIStatusError | anthropic.APIStatusError):
        status = error.status_code
        headers = dict(error.response.headers.items())
        if is_retryable_status(status):
            return TransientProviderError(
                f"{provider}: HTTP {status}",
                status=status,
                retry_after=retry_after_seconds(headers),
            )
        return FatalProviderError(
            _fatal_message(provider, model, status, str(error)[:300]), status=status
        )
    return error


class OpenAICompatibleTransport:
    """Chat completions via the `openai` SDK: OpenAI, Azure OpenAI or a local server."""

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        api_key: str | None,
        base_url: str | None,
        timeout_seconds: float,
        azure_endpoint: str | None = None,
        azure_api_version: str | None = None,
        json_mode: bool = True,
    ) -> None:
        import openai

        self.provider = provider
        self.model = model
        # Off for local servers that reject `response_format`; the prompts still ask for JSON.
        self.json_mode = json_mode
        self._client: openai.AsyncOpenAI
        if provider == "azure":
            if not azure_endpoint and not base_url:
                raise FatalProviderError(
                    "LLM provider 'azure' needs AZURE_OPENAI_ENDPOINT "
                    "(llm resource field azure_endpoint)",
                    status=None,
                )
            self._client = openai.AsyncAzureOpenAI(
                api_key=api_key,
                azure_endpoint=None if base_url else azure_endpoint,
                base_url=base_url,
                api_version=azure_api_version,
                timeout=timeout_seconds,
                max_retries=0,
            )
        else:
            self._client = openai.AsyncOpenAI(
                # Local servers ignore the key, but the SDK wants one.
                api_key=api_key or ("not-needed" if provider == "local" else None),
                base_url=base_url,
                timeout=timeout_seconds,
                max_retries=0,
            )

    async def send(self, request: ChatRequest) -> ChatReply:
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
        }
        # OpenAI's own models take max_completion_tokens; local servers know max_tokens.
        budget_name = "max_tokens" if self.provider == "local" else "max_completion_tokens"
        arguments[budget_name] = request.max_output_tokens
        if request.json_mode and self.json_mode:
            arguments["response_format"] = {"type": "json_object"}
        try:
            response = await self._client.chat.completions.create(**arguments)
        except Exception as error:
            raise _translated(self.provider, self.model, error) from error
        text = (response.choices[0].message.content or "") if response.choices else ""
        usage = response.usage
        return ChatReply(
            text=text,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    async def close(self) -> None:
        await self._client.close()


class AnthropicTransport:
    """Messages via the `anthropic` SDK."""

    def __init__(
        self, *, model: str, api_key: str | None, base_url: str | None, timeout_seconds: float
    ) -> None:
        import anthropic

        self.provider = "anthropic"
        self.model = model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=0
        )

    async def send(self, request: ChatRequest) -> ChatReply:
        try:
            response = await self._client.messages.create(
                model=self.model,
                system=request.system,
                messages=[{"role": "user", "content": request.user}],
                max_tokens=request.max_output_tokens,
            )
        except Exception as error:
            raise _translated(self.provider, self.model, error) from error
        text = "".join(
            block.text for block in response.content if getattr(block, "type", "") == "text"
        )
        return ChatReply(
            text=text,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
        )

    async def close(self) -> None:
        await self._client.close()
