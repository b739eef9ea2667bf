"""The utility learned selectors are trained to maximise: quality traded against cost and latency.

Per query and model, utility = w_q · performance + w_c · efficiency + w_l · speed, where
efficiency = 1 − cost / the query's highest cost (1 where every model is free) and
speed = 1 / (1 + latency / the query's highest latency), vLLM Semantic Router's `speed_factor`
as its trainer computes it (its document writes 1 / (1 + latency); the trainer divides by the
query's slowest model first, so the factor is between 0.5 and 1 whatever the hardware). A term
whose data is missing (no cost, no response_time) is dropped and its weight is reported as 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from llmswitch.training.metrics import PerformanceTable


@dataclass(frozen=True)
class UtilityWeights:
    quality: float = 0.9
    cost: float = 0.1
    latency: float = 0.0

    def __post_init__(self) -> None:
        if min(self.quality, self.cost, self.latency) < 0 or self.quality + self.cost + self.latency <= 0:
            raise ValueError(f"utility weights must be >= 0 and not all 0, got {self}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def usable(self, table: PerformanceTable) -> tuple[UtilityWeights, list[str]]:
        """These weights with the terms the data cannot support set to 0, and why."""
        notes = []
        cost, latency = self.cost, self.latency
        if cost and not table.cost_known:
            notes.append(f"cost weight {cost:g} dropped: the data has no cost")
            cost = 0.0
        if latency and not table.latency_known:
            notes.append(f"latency weight {latency:g} dropped: the data has no response_time")
            latency = 0.0
        if self.quality == 0 and cost == 0 and latency == 0:
            raise ValueError("every utility term with a weight lacks data")
        return UtilityWeights(self.quality, cost, latency), notes


def efficiency(cost: np.ndarray) -> np.ndarray:
    """1 - cost / the query's highest cost, per (query, model); 1 where every model is free."""
    top = cost.max(axis=-1, keepdims=True)
    return np.where(top > 0, 1.0 - cost / np.where(top > 0, top, 1.0), 1.0)


def speed_factor(latency: np.ndarray) -> np.ndarray:
    """1 / (1 + latency / the query's highest latency), per (query, model); 1 where all take 0 s."""
    top = latency.max(axis=-1, keepdims=True)
    return 1.0 / (1.0 + np.where(top > 0, latency / np.where(top > 0, top, 1.0), 0.0))


def utility(table: PerformanceTable, weights: UtilityWeights) -> np.ndarray:
    """(queries, models) utility; call `weights.usable(table)` first to drop unsupported terms."""
    return (weights.quality * table.performance + weights.cost * efficiency(table.cost)
            + weights.latency * speed_factor(table.latency))
