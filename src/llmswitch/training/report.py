"""The routing-quality report of `llmswitch eval`: per-router figures with their spread, tables, plots.

Per strategy (oracle, random, each single model, each selector): mean quality, cost per 1,000
queries, mean latency, best model chosen, realised QoS, RouterArena score, and whether it reaches
the best single model's quality at a lower cost; per scored router also the cost-aware figures
of costaware.py. Spreads are standard deviations over bootstrap resamples of the evaluated
queries (one split) or over folds (k-fold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from llmswitch.selection.qos import MIN_LATENCY_S
from llmswitch.training.costaware import Curve, arena_score, cost_aware, operating_curve
from llmswitch.training.metrics import (
    PerformanceTable,
    ThresholdCurve,
    best_model_indices,
    curves_table,
    markdown_table,
)

BOOTSTRAP_ROUNDS = 200
Stat = tuple[float, float]
"""(mean, standard deviation)"""
COLUMNS = ("quality", "cost_per_1k", "latency", "best_chosen", "qos", "arena", "beats_best")
COST_AWARE = ("quality_at_equal_cost", "cost_at_equal_quality", "aiq", "aiq_gain")


def one_hot(table: PerformanceTable, choices: Sequence[str]) -> np.ndarray:
    p = np.zeros_like(table.performance)
    p[np.arange(len(choices)), [table.model_index(m) for m in choices]] = 1.0
    return p


def per_query(table: PerformanceTable, p: np.ndarray) -> dict[str, np.ndarray]:
    """Per-query expected quality, cost, latency, best-choice and QoS of picking with probabilities `p`."""
    best = best_model_indices(table)
    qos = table.performance + 1.0 / np.maximum(table.latency, MIN_LATENCY_S)
    return {"quality": (p * table.performance).sum(1), "cost": (p * table.cost).sum(1),
            "latency": (p * table.latency).sum(1), "best": p[np.arange(len(best)), best], "qos": (p * qos).sum(1)}


@dataclass
class SplitFigures:
    """The figures of one evaluated split, before rendering."""

    table: PerformanceTable
    rows: dict[str, dict[str, float]]
    spread: dict[str, dict[str, float]]
    shares: dict[str, dict[str, float]]
    curves: dict[str, Curve] = field(default_factory=dict)


def assess(table: PerformanceTable, strategies: Mapping[str, np.ndarray], scored: Mapping[str, np.ndarray],
           d: np.ndarray, seed: int = 0) -> SplitFigures:
    """Figures for every strategy (name -> (queries, models) choice probabilities) on `table`.

    `scored` holds the score matrices of the routers whose operating curve can be traced.
    """
    n = len(table.query_ids)
    singles_quality, singles_cost = table.performance.mean(0), table.cost.sum(0)
    best = int(np.argmax(singles_quality))
    resample = np.random.default_rng(seed).integers(n, size=(BOOTSTRAP_ROUNDS, n))
    rows, spread, shares, curves = {}, {}, {}, {}
    for name, p in strategies.items():
        q = per_query(table, p)
        quality, cost = float(q["quality"].mean()), float(q["cost"].sum())
        nan = float("nan")
        row = {"quality": quality, "cost_per_1k": 1000 * cost / n if table.cost_known else nan,
               "latency": float(q["latency"].mean()) if table.latency_known else nan,
               "best_chosen": float(q["best"].mean()),
               "qos": float(q["qos"].mean()) if table.latency_known else float("nan"),
               "arena": arena_score(quality, 1000 * cost / n) if table.cost_known else float("nan"),
               "beats_best": float(quality >= singles_quality[best] - 1e-12 and cost < singles_cost[best] - 1e-12)
               if table.cost_known else float("nan")}
        if name in scored and table.cost_known:
            curves[name] = operating_curve(table, scored[name], d, name)
            row |= vars(cost_aware(table, curves[name]))
        rows[name] = row
        spread[name] = {k: float(q[v][resample].mean(1).std() * (1000 if k == "cost_per_1k" else 1))
                        if not np.isnan(row[k]) else float("nan")
                        for k, v in (("quality", "quality"), ("cost_per_1k", "cost"), ("latency", "latency"),
                                     ("qos", "qos"))}
        shares[name] = {m: float(s) for m, s in zip(table.models, p.mean(0), strict=True)}
    return SplitFigures(table, rows, spread, shares, curves)


def combine(folds: Sequence[SplitFigures]) -> SplitFigures:
    """Mean over folds, with the standard deviation across folds as the spread."""
    if len(folds) == 1:
        return folds[0]
    names = list(folds[0].rows)
    rows, spread, shares = {}, {}, {}
    for name in names:
        keys = folds[0].rows[name]
        values = {k: np.array([f.rows[name][k] for f in folds]) for k in keys}
        rows[name] = {k: float(np.nanmean(v)) if not np.isnan(v).all() else float("nan") for k, v in values.items()}
        spread[name] = {k: float(np.nanstd(v)) if not np.isnan(v).all() else float("nan") for k, v in values.items()}
        shares[name] = {m: float(np.mean([f.shares[name][m] for f in folds])) for m in folds[0].shares[name]}
    return SplitFigures(folds[0].table, rows, spread, shares, folds[0].curves)


def _fmt(value: float, spread: float | None = None, digits: int = 4) -> str:
    if value is None or np.isnan(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    return text if spread is None or np.isnan(spread) else f"{text} ± {spread:.{digits}f}"


def _pct(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{100 * value:.1f}%"


def main_table(fig: SplitFigures) -> str:
    headers = ["strategy", "quality", "cost per 1k queries ($)", "mean latency (s)", "best model chosen", "QoS",
               "RouterArena (×100)", "≥ best single's quality, cheaper"]
    lines = []
    for name, row in fig.rows.items():
        s = fig.spread[name]
        beats = row["beats_best"]
        lines.append([name, _fmt(row["quality"], s.get("quality")), _fmt(row["cost_per_1k"], s.get("cost_per_1k")),
                      _fmt(row["latency"], s.get("latency"), 3), _pct(row["best_chosen"]),
                      _fmt(row["qos"], s.get("qos"), 3), _fmt(100 * row["arena"], None, 2),
                      "n/a" if np.isnan(beats) else ("yes" if beats == 1 else "no" if beats == 0 else _pct(beats))])
    return markdown_table(headers, lines)


def shares_table(fig: SplitFigures) -> str:
    models = fig.table.models
    return markdown_table(["strategy", *(f"share {m}" for m in models)],
                          [[name, *(_pct(s[m]) for m in models)] for name, s in fig.shares.items()])


def cost_aware_table(fig: SplitFigures) -> str:
    lines = []
    for name, row in fig.rows.items():
        if "aiq" not in row:
            continue
        s = fig.spread[name]
        lines.append([name, _fmt(row["quality_at_equal_cost"], s.get("quality_at_equal_cost")),
                      _pct(row["cost_at_equal_quality"]), _fmt(row["aiq"], s.get("aiq")),
                      _fmt(row["aiq_gain"], s.get("aiq_gain"))])
    headers = ["router", "quality at the best single's cost (Δ)", "cost for the best single's quality",
               "AIQ", "AIQ − single models' AIQ"]
    return markdown_table(headers, lines) if lines else ""


def roles(train: PerformanceTable) -> tuple[str, str, str]:
    """(strong model, expensive model, a sentence saying which is which) from the train split."""
    strong = train.models[int(np.argmax(train.performance.mean(0)))]
    if not train.cost_known:
        return strong, "", f"Strong model: {strong} (higher mean quality on the train split); cost unknown."
    expensive = train.models[int(np.argmax(train.cost.mean(0)))]
    text = (f"Strong model: {strong} (highest mean quality on the train split); "
            f"expensive model: {expensive} (highest mean cost).")
    if strong != expensive:
        text += (" The strongest model is not the priciest: strong-model share, APGR and CPT count calls to "
                 "the strongest model, not spend; read the cost-aware columns instead.")
    return strong, expensive, text


def render(fig: SplitFigures, heading: str, description: Sequence[str], spread_label: str,
           two_model: Sequence[ThresholdCurve] = (), intervals: Mapping[str, Stat] | None = None,
           not_scored: Mapping[str, str] | None = None) -> str:
    parts = [f"### {heading}\n", *(f"- {line}" for line in description),
             f"- ± is the standard deviation {spread_label}.", "", main_table(fig), shares_table(fig)]
    if table := cost_aware_table(fig):
        parts.append(table)
    if two_model:
        parts.append(curves_table(two_model))
    if intervals:
        parts.append(markdown_table(["router", "APGR, 90% bootstrap interval"],
                                    [[k, f"{lo:.3f} – {hi:.3f}"] for k, (lo, hi) in intervals.items()]))
    if not_scored:
        parts.append(markdown_table(["selector", "not in the tables above"], [[k, v] for k, v in not_scored.items()]))
    return "\n".join(parts)
