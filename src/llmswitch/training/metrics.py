"""Offline evaluation of model selection on benchmark records (see docs/routing-metrics.md).

A router is judged on a table of every model's performance, cost and latency on
every query. A strategy picks one model per query (or a probability for each);
two-model routers are judged by sweeping a threshold over a per-query score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.split import DEFAULT_SPLIT, Split, SplitSpec

FloatArray = NDArray[np.float64]
CPT_TARGETS = (0.2, 0.5, 0.8)


@dataclass(frozen=True)
class PerformanceTable:
    """Per-query, per-model results; arrays have shape (queries, models)."""

    query_ids: tuple[str, ...]
    queries: tuple[str, ...]
    categories: tuple[str, ...]
    models: tuple[str, ...]
    performance: FloatArray
    cost: FloatArray
    latency: FloatArray
    cost_known: bool = True
    """False when some record has no cost: `cost` is then all zeros."""
    latency_known: bool = True
    """False when some record has no response_time: `latency` is then all zeros."""

    def model_index(self, model: str) -> int:
        return self.models.index(model)

    def subset(self, rows: ArrayLike) -> PerformanceTable:
        """The table restricted to (or resampled by) row indices."""
        idx = np.asarray(rows, dtype=np.intp)
        pick = lambda values: tuple(values[i] for i in idx) if values else ()  # noqa: E731
        return replace(self, query_ids=pick(self.query_ids), queries=pick(self.queries),
                       categories=pick(self.categories), performance=self.performance[idx],
                       cost=self.cost[idx], latency=self.latency[idx])


def performance_table(
    records: Sequence[BenchmarkRecord], split: Split | None = None, spec: SplitSpec = DEFAULT_SPLIT
) -> PerformanceTable:
    """Pivot records into a table, keeping only queries in ``split`` of ``spec`` (all if None).

    Queries keep their first-seen order; every query must have a record for every model.
    """
    models = tuple(dict.fromkeys(r.model_name for r in records))
    rows: dict[str, dict[str, BenchmarkRecord]] = {}
    for record in records:
        if split is None or spec.split_of(record) == split:
            rows.setdefault(record.query_id, {})[record.model_name] = record
    for query_id, by_model in rows.items():
        if len(by_model) != len(models):
            raise ValueError(f"query {query_id!r} lacks results for {set(models) - set(by_model)}")
    ordered = [[by_model[m] for m in models] for by_model in rows.values()]

    def column(field: str) -> FloatArray:
        values = [[getattr(r, field) for r in row] for row in ordered]
        if any(v is None for row in values for v in row):
            return np.zeros((len(ordered), len(models)))
        return np.array(values, dtype=float).reshape(len(ordered), len(models))

    every = [r for row in ordered for r in row]
    return PerformanceTable(
        query_ids=tuple(rows),
        queries=tuple(row[0].query for row in ordered),
        categories=tuple(row[0].category for row in ordered),
        models=models,
        performance=column("performance"),
        cost=column("cost"),
        latency=column("response_time"),
        cost_known=all(r.cost is not None for r in every),
        latency_known=all(r.response_time is not None for r in every),
    )


def best_model_indices(table: PerformanceTable) -> NDArray[np.intp]:
    """Per query, the best model: highest performance, then lowest cost, then first listed."""
    top = table.performance == table.performance.max(axis=1, keepdims=True)
    best: NDArray[np.intp] = np.argmin(np.where(top, table.cost, np.inf), axis=1)
    return best


@dataclass(frozen=True)
class StrategyResult:
    """How a routing strategy did; ``best_choice_rate`` is a fraction in [0, 1]."""

    name: str
    quality: float
    total_cost: float
    mean_latency: float
    best_choice_rate: float
    model_share: Mapping[str, float]


def evaluate_mixture(
    table: PerformanceTable, probabilities: ArrayLike, name: str
) -> StrategyResult:
    """Expected results of picking model j for query i with probability ``probabilities[i, j]``."""
    p = np.asarray(probabilities, dtype=float)
    if p.shape != table.performance.shape or not np.allclose(p.sum(axis=1), 1.0):
        raise ValueError("probabilities must have one row per query summing to 1")
    best = best_model_indices(table)
    return StrategyResult(
        name=name,
        quality=float((p * table.performance).sum(axis=1).mean()),
        total_cost=float((p * table.cost).sum()),
        mean_latency=float((p * table.latency).sum(axis=1).mean()),
        best_choice_rate=float(p[np.arange(len(best)), best].mean()),
        model_share={
            m: float(share) for m, share in zip(table.models, p.mean(axis=0), strict=True)
        },
    )


def evaluate(table: PerformanceTable, choices: Sequence[str], name: str) -> StrategyResult:
    """Results of sending query i to model ``choices[i]``."""
    if len(choices) != len(table.query_ids):
        raise ValueError(f"{len(choices)} choices for {len(table.query_ids)} queries")
    index = [table.model_index(model) for model in choices]
    one_hot = np.zeros_like(table.performance)
    one_hot[np.arange(len(index)), index] = 1.0
    return evaluate_mixture(table, one_hot, name)


def oracle(table: PerformanceTable) -> StrategyResult:
    """The cheapest model with the best performance, per query."""
    return evaluate(table, [table.models[i] for i in best_model_indices(table)], "oracle")


def random_router(table: PerformanceTable, seed: int | None = None) -> StrategyResult:
    """A uniformly random model per query: seeded draws, or the exact expectation if no seed."""
    shape = table.performance.shape
    if seed is None:
        return evaluate_mixture(table, np.full(shape, 1.0 / shape[1]), "random (expected)")
    picks = np.random.default_rng(seed).integers(shape[1], size=shape[0])
    return evaluate(table, [table.models[i] for i in picks], f"random (seed {seed})")


def single_model(table: PerformanceTable, model: str) -> StrategyResult:
    return evaluate(table, [model] * len(table.query_ids), model)


def baselines(table: PerformanceTable, seed: int | None = None) -> list[StrategyResult]:
    """Oracle, random and every single model."""
    return [
        oracle(table),
        random_router(table, seed),
        *(single_model(table, m) for m in table.models),
    ]


# Two models: threshold sweeps, PGR, APGR and CPT (RouteLLM).


def route_by_threshold(scores: ArrayLike, threshold: float, strong: str, weak: str) -> list[str]:
    """Send a query to ``strong`` when its strong-win score is at least ``threshold``."""
    return [strong if s >= threshold else weak for s in np.asarray(scores, dtype=float)]


@dataclass(frozen=True)
class ThresholdCurve:
    """A two-model router over all thresholds, as the strong-model share grows 0 -> 1.

    Points sit where the share changes; queries with equal scores are routed as a
    block, and between points the curve is linear (routing part of a tied block at
    random). ``total_cost`` is in US dollars, ``pgr`` is the performance gap recovered.
    """

    name: str
    strong_share: FloatArray
    quality: FloatArray
    total_cost: FloatArray
    pgr: FloatArray


def threshold_curve(
    table: PerformanceTable, scores: ArrayLike, strong: str, weak: str, name: str = "router",
    require_gap: bool = True,
) -> ThresholdCurve:
    """Sweep a threshold over ``scores`` (higher = more likely to need the strong model).

    PGR needs a quality gap between the models; without one it raises, or with
    ``require_gap=False`` leaves PGR as NaN (quality and cost are still traced).
    """
    s, w = table.model_index(strong), table.model_index(weak)
    score = np.asarray(scores, dtype=float)
    n = len(score)
    if score.shape != (n,) or n != len(table.query_ids) or n == 0:
        raise ValueError("need one score per query")
    perf, cost = table.performance, table.cost
    gap = perf[:, s].mean() - perf[:, w].mean()
    if gap == 0 and require_gap:
        raise ValueError("strong and weak models have the same mean performance; PGR is undefined")
    order = np.argsort(-score, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum(perf[order, s] - perf[order, w])])
    extra = np.concatenate([[0.0], np.cumsum(cost[order, s] - cost[order, w])])
    ranked = score[order]
    cut = np.concatenate([[0], np.flatnonzero(ranked[1:] != ranked[:-1]) + 1, [n]])
    quality = perf[:, w].mean() + gain[cut] / n
    return ThresholdCurve(
        name=name,
        strong_share=cut / n,
        quality=quality,
        total_cost=cost[:, w].sum() + extra[cut],
        pgr=(quality - perf[:, w].mean()) / gap if gap else np.full(len(quality), np.nan),
    )


def _area(x: FloatArray, y: FloatArray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def apgr(curve: ThresholdCurve) -> float:
    """Area under PGR against strong-model share, over [0, 1]; a random router scores 0.5."""
    return _area(curve.strong_share, curve.pgr)


def cpt(curve: ThresholdCurve, target: float) -> float:
    """Smallest strong-model share at which PGR reaches ``target`` (NaN if never)."""
    x, g = curve.strong_share, curve.pgr
    reached = np.flatnonzero(g >= target)
    if len(reached) == 0:
        return float("nan")
    i = int(reached[0])
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (target - g[i - 1]) / (g[i] - g[i - 1]) * (x[i] - x[i - 1]))


def category_prior_scores(
    train: PerformanceTable, table: PerformanceTable, strong: str, weak: str
) -> FloatArray:
    """A simple router: each query scores its category's mean strong-minus-weak gap on ``train``.

    Categories unseen in ``train`` get the overall mean gap.
    """
    s, w = train.model_index(strong), train.model_index(weak)
    gap = train.performance[:, s] - train.performance[:, w]
    categories = np.array(train.categories)
    prior = {c: float(gap[categories == c].mean()) for c in set(train.categories)}
    return np.array([prior.get(c, float(gap.mean())) for c in table.categories])


# N models: AIQ (RouterBench).


def quality_cost_hull(costs: ArrayLike, qualities: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Vertices of the non-decreasing upper convex hull of (cost, quality) points, by cost."""
    cost_of, quality_of = np.asarray(costs, dtype=float), np.asarray(qualities, dtype=float)
    if cost_of.shape != quality_of.shape or cost_of.ndim != 1 or len(cost_of) == 0:
        raise ValueError("need as many costs as qualities, at least one")
    points = sorted(
        zip(cost_of.tolist(), quality_of.tolist(), strict=True), key=lambda p: (p[0], -p[1])
    )
    front: list[tuple[float, float]] = []
    for c, q in points:
        if not front or q > front[-1][1]:
            front.append((c, q))
    hull: list[tuple[float, float]] = []
    for c, q in front:
        while len(hull) >= 2:
            (c0, q0), (c1, q1) = hull[-2], hull[-1]
            if (c1 - c0) * (q - q0) - (q1 - q0) * (c - c0) < 0:
                break
            hull.pop()
        hull.append((c, q))
    return np.array([p[0] for p in hull]), np.array([p[1] for p in hull])


def aiq(
    costs: ArrayLike,
    qualities: ArrayLike,
    c_min: float | None = None,
    c_max: float | None = None,
) -> float:
    """Average quality over the cost range [c_min, c_max] under the hull of the points.

    Defaults to the points' own cost range. Past the most expensive hull vertex the
    hull stays flat; below the cheapest one it is undefined, so ``c_min`` may not be lower.
    """
    hull_c, hull_q = quality_cost_hull(costs, qualities)
    low = float(hull_c[0]) if c_min is None else c_min
    high = float(np.max(costs)) if c_max is None else c_max
    if low < hull_c[0]:
        raise ValueError(f"c_min {low} is below the cheapest point {hull_c[0]}")
    if high <= low:
        raise ValueError("the cost range is empty")
    x = np.unique(np.concatenate([[low, high], hull_c[(hull_c > low) & (hull_c < high)]]))
    return _area(x, np.interp(x, hull_c, hull_q)) / (high - low)


# Reporting.


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table; floats get four decimals, the first column is left-aligned."""

    def cell(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def results_table(results: Sequence[StrategyResult]) -> str:
    return markdown_table(
        ["strategy", "quality", "total cost ($)", "mean latency (s)", "best model chosen"],
        [
            [r.name, r.quality, r.total_cost, r.mean_latency, f"{100 * r.best_choice_rate:.1f}%"]
            for r in results
        ],
    )


def curves_table(curves: Sequence[ThresholdCurve], targets: Sequence[float] = CPT_TARGETS) -> str:
    """APGR, CPT at each target PGR, and AIQ of each two-model router (n/a when nothing costs anything)."""
    return markdown_table(
        ["router", "APGR", *(f"CPT({100 * t:.0f}%)" for t in targets), "AIQ"],
        [
            [
                c.name,
                apgr(c),
                *(f"{100 * cpt(c, t):.1f}%" for t in targets),
                aiq(c.total_cost, c.quality) if np.ptp(c.total_cost) > 0 else "n/a",
            ]
            for c in curves
        ],
    )


def two_model_report(
    records: Sequence[BenchmarkRecord],
    strong: str,
    weak: str,
    seed: int | None = None,
    plot_dir: Path | None = None,
) -> str:
    """Markdown report on the eval split: baselines, then three threshold routers.

    The routers score queries at random (seeded draws, or equal scores for the
    expectation when ``seed`` is None), by the category prior learnt on the train
    split, and by the true strong-minus-weak gap (an upper bound).
    """
    train, test = performance_table(records, "train"), performance_table(records, "eval")
    s, w = test.model_index(strong), test.model_index(weak)
    n = len(test.query_ids)
    if seed is None:
        random_scores, random_name = np.zeros(n), "random (expected)"
    else:
        random_scores, random_name = np.random.default_rng(seed).random(n), f"random (seed {seed})"
    curves = [
        threshold_curve(test, random_scores, strong, weak, random_name),
        threshold_curve(
            test, category_prior_scores(train, test, strong, weak), strong, weak, "category prior"
        ),
        threshold_curve(
            test, test.performance[:, s] - test.performance[:, w], strong, weak, "oracle scores"
        ),
    ]
    results = baselines(test, seed)
    if plot_dir is not None:
        from llmswitch.training.plots import plot_quality_vs_cost, plot_quality_vs_strong_share

        plot_quality_vs_cost(plot_dir / "quality_vs_cost.png", results, curves)
        plot_quality_vs_strong_share(plot_dir / "quality_vs_strong_share.png", curves)
    return results_table(results) + "\n" + curves_table(curves)
