"""Operating points: where a learned selector's scores turn into routing decisions.

A selector picks argmax(scores + offset). Trained on labels that are mostly one model, its
argmax rarely leaves that model even when its ranking of queries is good; the offset moves the
operating point. The offset is λ · d for a fixed per-model direction d (the models' relative
mean cost, else latency, else quality) and λ is tuned on a validation split carved from the
training split, for one of two objectives:

- `utility`: the highest mean validation utility (the same utility the labels maximise);
- `match-best`: the cheapest point whose validation quality reaches the best single model's
  (the best model's quality for less); where no point reaches it, the highest quality.

`argmax` keeps offset 0. Two models need one threshold, which this sweep finds exactly; more
models get the λ family, a one-dimensional path from "always the cheapest" to "always the priciest".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmswitch.training.metrics import PerformanceTable

OBJECTIVES = ("utility", "match-best", "argmax")
MAX_CANDIDATES = 800
CHUNK = 200


def direction(table: PerformanceTable) -> np.ndarray:
    """Per model: relative mean cost (or latency, or minus quality when neither is known)."""
    for known, values, sign in ((table.cost_known, table.cost, 1.0), (table.latency_known, table.latency, 1.0),
                                (True, table.performance, -1.0)):
        mean = values.mean(axis=0)
        top = float(np.abs(mean).max())
        if known and top > 0 and np.ptp(mean) > 0:
            return sign * mean / top
    return np.zeros(len(table.models))


def candidate_lambdas(scores: np.ndarray, d: np.ndarray) -> np.ndarray:
    """λ values between every pair of switch points, plus both ends (0 included)."""
    switches = []
    m = scores.shape[1]
    for j in range(m):
        for k in range(j + 1, m):
            if d[j] != d[k]:
                switches.append((scores[:, j] - scores[:, k]) / (d[j] - d[k]))
    if not switches:
        return np.zeros(1)
    points = np.unique(np.concatenate(switches))
    points = points[np.isfinite(points)]
    if len(points) > MAX_CANDIDATES:
        points = np.unique(np.quantile(points, np.linspace(0, 1, MAX_CANDIDATES)))
    if len(points) == 0:
        return np.zeros(1)
    span = float(points[-1] - points[0]) or 1.0
    middles = (points[1:] + points[:-1]) / 2
    return np.unique(np.concatenate([[points[0] - span, 0.0, points[-1] + span], middles]))


@dataclass(frozen=True)
class OperatingPoint:
    objective: str
    offset: np.ndarray
    """(models,) added to the scores before the argmax."""
    validation: dict[str, Any]

    def to_settings(self) -> dict[str, Any]:
        return {"objective": self.objective, "offset": [round(float(v), 8) + 0.0 for v in self.offset],
                "validation": self.validation}


def choices_at(scores: np.ndarray, d: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """(L, n) argmax of scores - λ·d for each λ."""
    return np.argmax(scores[None, :, :] - lambdas[:, None, None] * d[None, None, :], axis=2)


def _outcomes(scores: np.ndarray, d: np.ndarray, lambdas: np.ndarray, table: PerformanceTable,
              util: np.ndarray) -> dict[str, np.ndarray]:
    """Per λ: mean quality, total cost, mean latency and mean utility of the choices it makes."""
    out: dict[str, list[np.ndarray]] = {"quality": [], "cost": [], "latency": [], "utility": []}
    rows = np.arange(len(scores))[None, :]
    for start in range(0, len(lambdas), CHUNK):
        choice = choices_at(scores, d, lambdas[start : start + CHUNK])
        out["quality"].append(table.performance[rows, choice].mean(axis=1))
        out["cost"].append(table.cost[rows, choice].sum(axis=1))
        out["latency"].append(table.latency[rows, choice].mean(axis=1))
        out["utility"].append(util[rows, choice].mean(axis=1))
    return {k: np.concatenate(v) for k, v in out.items()}


def calibrate(scores: np.ndarray, table: PerformanceTable, util: np.ndarray, objective: str,
              d: np.ndarray) -> OperatingPoint:
    """The operating point for `objective` on validation `scores` (queries, models) of `table`."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    if objective == "argmax" or len(table.query_ids) == 0:
        return OperatingPoint("argmax", np.zeros(scores.shape[1]), {})
    lambdas = candidate_lambdas(scores, d)
    out = _outcomes(scores, d, lambdas, table, util)
    nearest_zero = np.argsort(np.abs(lambdas), kind="stable")
    if objective == "utility":
        best = max(nearest_zero, key=lambda i: (round(float(out["utility"][i]), 12), -abs(lambdas[i])))
    else:
        target = float(table.performance.mean(axis=0).max())
        feasible = [i for i in nearest_zero if out["quality"][i] >= target - 1e-12]
        price = out["cost"] if table.cost_known else out["latency"] if table.latency_known else -out["quality"]
        if feasible:
            best = min(feasible, key=lambda i: (float(price[i]), -float(out["quality"][i])))
        else:
            best = max(nearest_zero, key=lambda i: float(out["quality"][i]))
    singles = table.performance.mean(axis=0)
    picked = choices_at(scores, d, lambdas[best : best + 1])[0]
    validation = {
        "queries": len(table.query_ids), "lambda": float(lambdas[best]),
        "quality": float(out["quality"][best]), "cost": float(out["cost"][best]),
        "best_single_quality": float(singles.max()),
        "best_single_cost": float(table.cost[:, int(np.argmax(singles))].sum()),
        "share": {m: float(np.mean(picked == j)) for j, m in enumerate(table.models)},
    }
    return OperatingPoint(objective, -lambdas[best] * d, validation)
