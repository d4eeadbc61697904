"""What a call costs: USD per million input and output tokens, per model.

The embedded prices are the providers' list prices for the default models and their
siblings (late 2025); `prices` in the llm resource's config overrides or extends them.
A model without a known price costs None, never a made-up zero.
"""

from __future__ import annotations

from collections.abc import Mapping

# model -> (USD per 1M input tokens, USD per 1M output tokens)
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4-6": (3.00, 15.00),  # every Sonnet since 3.5 has listed at $3 / $15
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-opus-4-5": (5.00, 25.00),
    "extractive-v1": (0.0, 0.0),
}


def price_table(
    overrides: Mapping[str, list[float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """The embedded prices with configured ones on top; each override is [input, output]."""
    table = dict(DEFAULT_PRICES)
    for model, pair in (overrides or {}).items():
        if len(pair) != 2:
            raise ValueError(f"price of {model!r} must be [input_usd, output_usd] per 1M tokens")
        table[model] = (float(pair[0]), float(pair[1]))
    return table


def cost_usd(
    prices: Mapping[str, tuple[float, float]], model: str, input_tokens: int, output_tokens: int
) -> float | None:
    """USD for the tokens, or None when the model has no price."""
    price = prices.get(model)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
