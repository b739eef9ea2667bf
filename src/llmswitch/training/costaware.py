"""Cost-aware routing figures that hold whichever model is the strong or the expensive one.

- **Operating curve** of a router: the (total cost, quality) points it reaches as its operating
  point moves from "always the cheapest model" to "always the priciest" (two models: every
  threshold on the score difference; more models: the λ family of calibrate.py).
- **Quality at equal cost**: the router's hull quality at the best single model's cost, minus
  that model's quality (> 0: better for the same money).
- **Cost at equal quality**: the cheapest hull cost at which the router reaches the best single
  model's quality, as a share of that model's cost (< 100%: the same quality for less).
- **AIQ gain**: the router's hull AIQ minus the AIQ of the single models' own hull (mixing single
  models at random), over the same cost range.
- **RouterArena score**: S = (1 + β)·A·C / (β·A + C) with C = (log2 c_max − log2 c) /
  (log2 c_max − log2 c_min), c the cost per 1,000 queries in US$, β = 0.1, c_max = 200,
  c_min = 0.0044 (RouterArena's published formula and constants; C is not clipped).

"Best single model" is the single model with the highest quality on the evaluated queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llmswitch.training.calibrate import candidate_lambdas, choices_at
from llmswitch.training.metrics import PerformanceTable, aiq, quality_cost_hull, threshold_curve

ARENA_BETA, ARENA_C_MAX, ARENA_C_MIN = 0.1, 200.0, 0.0044


def arena_score(accuracy: float, cost_per_1k: float, beta: float = ARENA_BETA, c_max: float = ARENA_C_MAX,
                c_min: float = ARENA_C_MIN) -> float:
    """RouterArena's score of an accuracy in [0, 1] at a cost per 1,000 queries (US$); NaN for cost <= 0."""
    if cost_per_1k <= 0:
        return float("nan")
    c = (math.log2(c_max) - math.log2(cost_per_1k)) / (math.log2(c_max) - math.log2(c_min))
    denominator = beta * accuracy + c
    return (1 + beta) * accuracy * c / denominator if denominator != 0 else float("nan")


@dataclass(frozen=True)
class Curve:
    name: str
    cost: np.ndarray
    quality: np.ndarray


def operating_curve(table: PerformanceTable, scores: np.ndarray, d: np.ndarray, name: str) -> Curve:
    """The router's (total cost, quality) points over its operating points."""
    if len(table.models) == 2:
        cheap, dear = (0, 1) if d[0] <= d[1] else (1, 0)
        curve = threshold_curve(table, scores[:, dear] - scores[:, cheap], table.models[dear], table.models[cheap],
                                name, require_gap=False)
        return Curve(name, curve.total_cost, curve.quality)
    lambdas = candidate_lambdas(scores, d)
    rows = np.arange(len(scores))[None, :]
    choice = choices_at(scores, d, lambdas)
    return Curve(name, table.cost[rows, choice].sum(axis=1), table.performance[rows, choice].mean(axis=1))


def _with_singles(curve: Curve, table: PerformanceTable) -> tuple[np.ndarray, np.ndarray]:
    """Curve points plus the single models (a router can always fall back to one)."""
    return (np.concatenate([curve.cost, table.cost.sum(axis=0)]),
            np.concatenate([curve.quality, table.performance.mean(axis=0)]))


def hull_quality_at(costs: np.ndarray, qualities: np.ndarray, cost: float) -> float:
    hull_c, hull_q = quality_cost_hull(costs, qualities)
    return float(np.interp(cost, hull_c, hull_q)) if cost >= hull_c[0] else float("nan")


def hull_cost_for(costs: np.ndarray, qualities: np.ndarray, quality: float) -> float:
    """The cheapest hull cost reaching `quality` (NaN if the hull never does)."""
    hull_c, hull_q = quality_cost_hull(costs, qualities)
    if quality > hull_q[-1] + 1e-12:
        return float("nan")
    if quality <= hull_q[0]:
        return float(hull_c[0])
    i = int(np.flatnonzero(hull_q >= quality - 1e-12)[0])
    return float(hull_c[i - 1] + (quality - hull_q[i - 1]) / (hull_q[i] - hull_q[i - 1]) * (hull_c[i] - hull_c[i - 1]))


@dataclass(frozen=True)
class CostAware:
    quality_at_equal_cost: float
    """Router hull quality at the best single model's cost, minus that model's quality."""
    cost_at_equal_quality: float
    """Cheapest router hull cost reaching the best single model's quality / that model's cost."""
    aiq: float
    aiq_gain: float
    """AIQ minus the single models' hull AIQ over the same cost range."""


def cost_aware(table: PerformanceTable, curve: Curve) -> CostAware:
    singles_cost, singles_quality = table.cost.sum(axis=0), table.performance.mean(axis=0)
    best = int(np.argmax(singles_quality))
    costs, qualities = _with_singles(curve, table)
    low, high = float(singles_cost.min()), float(singles_cost.max())
    nan = float("nan")
    router_aiq = aiq(costs, qualities, low, high) if high > low else nan
    singles_aiq = aiq(singles_cost, singles_quality, low, high) if high > low else nan
    reach = hull_cost_for(costs, qualities, float(singles_quality[best]))
    at_best_cost = hull_quality_at(costs, qualities, float(singles_cost[best]))
    return CostAware(
        quality_at_equal_cost=at_best_cost - float(singles_quality[best]),
        cost_at_equal_quality=reach / float(singles_cost[best]) if singles_cost[best] > 0 else nan,
        aiq=router_aiq,
        aiq_gain=router_aiq - singles_aiq,
    )
