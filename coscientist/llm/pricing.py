"""What a model call costs, for `max_cost`: a price table by model name.

Prices are USD per million tokens, input and output. The defaults below are
the providers' published list prices for a few well-known API models as we
last saw them (mid-2025); providers change them, so `[prices."NAME"]` in the
TOML config (or COSCIENTIST_PRICES) overrides or adds any model. Models run
here (`embedded`, `gguf:`, in-process `vllm:`, `scripted`) cost nothing. A
self-hosted server behind `openai-compatible` has no price we could know:
with `max_cost` set, say `input = 0, output = 0` for it.

A name matches a table entry exactly, or as the entry followed by a dated or
numbered suffix (`gpt-4o-2024-08-06` is `gpt-4o`, not `gpt-4o-mini`); a
provider prefix (`openai/gpt-4o`) is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from coscientist.config import ModelPrice, Settings
from coscientist.errors import ConfigError
from coscientist.llm.base import Message

DEFAULT_PRICES: dict[str, ModelPrice] = {
    name: ModelPrice(input=i, output=o)
    for name, (i, o) in {
        # OpenAI
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-5": (1.25, 10.00),
        "gpt-5-mini": (0.25, 2.00),
        "gpt-5-nano": (0.05, 0.40),
        "o3": (2.00, 8.00),
        "o3-mini": (1.10, 4.40),
        "o4-mini": (1.10, 4.40),
        # Anthropic (OpenAI-compatible endpoint)
        "claude-opus-4": (15.00, 75.00),
        "claude-sonnet-4": (3.00, 15.00),
        "claude-3-5-haiku": (0.80, 4.00),
    }.items()
}

FREE_KINDS = frozenset({"embedded", "gguf", "vllm", "scripted"})
_MESSAGE_OVERHEAD = 8  # tokens a chat template adds around one message, generously


def find_price(model: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price of `model` in `prices` (see the module docstring for matching), or None."""
    name = model.strip().lower()
    candidates = [name]
    if "/" in name:
        candidates.append(name.rsplit("/", 1)[1])
    table = {key.strip().lower(): price for key, price in prices.items()}
    for candidate in candidates:
        if candidate in table:
            return table[candidate]
        best: str | None = None
        for key in table:
            rest = candidate[len(key) :]
            if (
                candidate.startswith(key)
                and len(rest) >= 2
                and rest[0] == "-"
                and rest[1].isdigit()
            ):
                if best is None or len(key) > len(best):
                    best = key
        if best is not None:
            return table[best]
    return None


def price_for(settings: Settings, kind: str, model: str | None) -> ModelPrice | None:
    """The price of a session's model: 0 for models run here, else the configured or default
    price of `model`, else None (unknown)."""
    if kind in FREE_KINDS:
        return ModelPrice(input=0.0, output=0.0)
    if not model:
        return None
    return find_price(model, settings.prices) or find_price(model, DEFAULT_PRICES)


def require_price(settings: Settings, kind: str, model: str | None) -> ModelPrice:
    """The price, or a ConfigError saying how to give one: max_cost needs it."""
    price = price_for(settings, kind, model)
    if price is None:
        name = model or "the served model"
        raise ConfigError(
            f"--max-cost needs the price of {name!r}, which is not known: add "
            f'[prices."{model or "MODEL"}"] with input = and output = (USD per million tokens; '
            "0 for a model you host) to the config file, or drop --max-cost"
        )
    return price


def cost(price: ModelPrice, tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


def worst_case_cost(price: ModelPrice, messages: Sequence[Message], max_tokens: int) -> float:
    """An upper bound on one request's cost, reserved against max_cost before it is sent.

    Byte-level BPE tokenizers never make more tokens than the UTF-8 bytes they
    read, so the prompt's bytes (plus a template allowance per message) bound its
    tokens; the answer is bounded by max_tokens.
    """
    if price.input == 0 and price.output == 0:
        return 0.0
    prompt = len(json.dumps(list(messages), ensure_ascii=False).encode("utf-8", "replace"))
    prompt += _MESSAGE_OVERHEAD * (len(messages) + 1)
    return cost(price, prompt, max_tokens)
