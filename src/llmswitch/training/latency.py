"""Per-request latencies measured by the LLMPerf leaderboard, and draws from them.

The leaderboard measured Llama-2 7B/13B/70B chat on hosted providers with about
550 input and 150 output tokens per request. A draw picks one successful request
of the right model size and rescales its decode time to the wanted number of
output tokens: ``ttft + (e2e - ttft) / (n_out - 1) * (tokens - 1)``, so a draw
for the measured ``n_out`` returns the measured end-to-end latency.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LatencySample:
    """One successful request of the leaderboard."""

    provider: str
    size: str
    ttft_s: float
    end_to_end_s: float
    output_tokens: int

    def latency_for(self, completion_tokens: int) -> float:
        """Latency of this request had it produced ``completion_tokens`` tokens."""
        per_token = (self.end_to_end_s - self.ttft_s) / max(self.output_tokens - 1, 1)
        return self.ttft_s + per_token * max(completion_tokens - 1, 0)


def load_llmperf(root: Path) -> list[LatencySample]:
    """Successful requests from ``root/individual/<provider>_<size>.json``.

    Failed requests (an error code, or zero latency or tokens) are dropped.
    """
    samples: list[LatencySample] = []
    for path in sorted((root / "individual").glob("*_*.json")):
        provider, size = path.stem.rsplit("_", 1)
        for row in json.loads(path.read_text(encoding="utf-8")):
            e2e = float(row.get("end_to_end_latency_s") or 0.0)
            tokens = int(row.get("number_output_tokens") or 0)
            if row.get("error_code") or e2e <= 0.0 or tokens <= 0:
                continue
            samples.append(LatencySample(provider, size, float(row["ttft_s"]), e2e, tokens))
    return samples


def shared_providers(samples: Sequence[LatencySample], sizes: Collection[str]) -> set[str]:
    """Providers that served every one of ``sizes``."""
    served: dict[str, set[str]] = {}
    for sample in samples:
        served.setdefault(sample.provider, set()).add(sample.size)
    return {provider for provider, have in served.items() if set(sizes) <= have}


class LatencySampler:
    """Seeded latency draws for the models of a benchmark.

    ``size_of_model`` maps each model name to a leaderboard size ("7b", "13b",
    "70b"). Draws come from ``providers``, by default every provider that served
    all mapped sizes, so every model draws from the same set of deployments.
    """

    def __init__(
        self,
        samples: Sequence[LatencySample],
        size_of_model: Mapping[str, str],
        seed: int = 0,
        providers: Collection[str] | None = None,
    ) -> None:
        if providers is None:
            providers = shared_providers(samples, size_of_model.values())
        self._pools: dict[str, list[LatencySample]] = {}
        for model, size in size_of_model.items():
            pool = [s for s in samples if s.size == size and s.provider in providers]
            if not pool:
                raise ValueError(f"no latency samples of size {size!r} for {model!r}")
            self._pools[model] = pool
        self._rng = random.Random(seed)

    def draw(self, model: str, completion_tokens: int) -> float:
        """Latency in seconds of one request to ``model`` producing ``completion_tokens``."""
        return self._rng.choice(self._pools[model]).latency_for(completion_tokens)
