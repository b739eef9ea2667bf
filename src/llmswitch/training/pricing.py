"""Per-token prices of the models in the benchmark data (see docs/datasets.md for sources)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


@dataclass(frozen=True)
class Price:
    """US dollars per one million tokens."""

    input_per_1m: float
    output_per_1m: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1e6


PRICES: Mapping[str, Price] = {
    # OpenAI list price of gpt-4-1106-preview (GPT-4 Turbo preview, Nov 2023).
    STRONG_MODEL: Price(input_per_1m=10.0, output_per_1m=30.0),
    # The flat price the RouteLLM paper assumes for Mixtral-8x7B.
    WEAK_MODEL: Price(input_per_1m=0.24, output_per_1m=0.24),
}


def request_cost(
    model: str, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, Price] = PRICES
) -> float:
    """Cost in US dollars of one request; raises KeyError for a model without a price."""
    return prices[model].cost(prompt_tokens, completion_tokens)
