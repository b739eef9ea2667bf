from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("numpy", reason="metrics need numpy")

import numpy as np

from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.metrics import (
    PerformanceTable,
    aiq,
    apgr,
    baselines,
    best_model_indices,
    category_prior_scores,
    cpt,
    curves_table,
    evaluate,
    evaluate_mixture,
    markdown_table,
    oracle,
    performance_table,
    quality_cost_hull,
    random_router,
    results_table,
    route_by_threshold,
    single_model,
    threshold_curve,
    two_model_report,
)
from llmswitch.training.plots import plot_quality_vs_cost, plot_quality_vs_strong_share
from llmswitch.training.split import split_of


def records_for(
    perf: dict[str, Sequence[float]],
    cost: dict[str, Sequence[float]],
    latency: dict[str, Sequence[float]] | None = None,
    categories: Sequence[str] | None = None,
) -> list[BenchmarkRecord]:
    """One record per (query, model); query i is "q{i}"."""
    n = len(next(iter(perf.values())))
    return [
        BenchmarkRecord(
            query=f"q{i}",
            category=categories[i] if categories else "c",
            model_name=model,
            performance=perf[model][i],
            response_time=latency[model][i] if latency else 1.0,
            prompt_tokens=1,
            completion_tokens=1,
            cost=cost[model][i],
        )
        for i in range(n)
        for model in perf
    ]


@pytest.fixture()
def three_queries() -> list[BenchmarkRecord]:
    """Model A is better on q0, both are right on q1 and both wrong on q2; B is half the price."""
    return records_for(
        perf={"A": [1, 1, 0], "B": [0, 1, 0]},
        cost={"A": [2, 2, 2], "B": [1, 1, 1]},
        latency={"A": [3, 3, 3], "B": [1, 1, 1]},
    )


def test_table_pivots_records(three_queries: list[BenchmarkRecord]) -> None:
    table = performance_table(three_queries)
    assert table.models == ("A", "B")
    assert table.query_ids == ("q0", "q1", "q2")
    np.testing.assert_array_equal(table.performance, [[1, 0], [1, 1], [0, 0]])
    np.testing.assert_array_equal(table.cost[:, 1], [1, 1, 1])
    np.testing.assert_array_equal(table.latency[:, 0], [3, 3, 3])


def test_table_keeps_only_the_split() -> None:
    records = records_for({"A": [1.0] * 40}, {"A": [1.0] * 40})
    expected = tuple(f"q{i}" for i in range(40) if split_of(f"q{i}") == "eval")
    assert 0 < len(expected) < 40
    assert performance_table(records, "eval").query_ids == expected


def test_table_separates_repeated_prompts_by_query_id() -> None:
    records = [
        BenchmarkRecord(
            query="same",
            category="c",
            model_name="A",
            performance=performance,
            response_time=1.0,
            prompt_tokens=1,
            completion_tokens=1,
            cost=1.0,
            query_id=query_id,
        )
        for query_id, performance in (("x/0", 1.0), ("y/0", 0.0))
    ]
    np.testing.assert_array_equal(performance_table(records).performance, [[1.0], [0.0]])


def test_table_rejects_a_query_missing_a_model(three_queries: list[BenchmarkRecord]) -> None:
    with pytest.raises(ValueError, match="lacks results"):
        performance_table(three_queries[:-1])


def test_best_model_breaks_ties_by_cost_then_order() -> None:
    equal_cost = performance_table(
        records_for({"A": [1, 1], "B": [1, 0]}, {"A": [1, 1], "B": [1, 1]})
    )
    np.testing.assert_array_equal(best_model_indices(equal_cost), [0, 0])
    cheaper_b = performance_table(
        records_for({"A": [1, 1], "B": [1, 0]}, {"A": [2, 2], "B": [1, 1]})
    )
    np.testing.assert_array_equal(best_model_indices(cheaper_b), [1, 0])


def test_baselines_by_hand(three_queries: list[BenchmarkRecord]) -> None:
    table = performance_table(three_queries)
    results = {r.name: r for r in baselines(table)}
    assert list(results) == ["oracle", "random (expected)", "A", "B"]
    # Oracle: A for q0, B (cheaper) for the ties q1 and q2.
    best = results["oracle"]
    assert (
        best.quality,
        best.total_cost,
        best.mean_latency,
        best.best_choice_rate,
    ) == pytest.approx((2 / 3, 4.0, 5 / 3, 1.0))
    assert best.model_share == pytest.approx({"A": 1 / 3, "B": 2 / 3})
    a, b = results["A"], results["B"]
    assert (a.quality, a.total_cost, a.mean_latency, a.best_choice_rate) == pytest.approx(
        (2 / 3, 6.0, 3.0, 1 / 3)
    )
    assert (b.quality, b.total_cost, b.mean_latency, b.best_choice_rate) == pytest.approx(
        (1 / 3, 3.0, 1.0, 2 / 3)
    )
    expected = results["random (expected)"]
    assert (
        expected.quality,
        expected.total_cost,
        expected.mean_latency,
        expected.best_choice_rate,
    ) == pytest.approx((0.5, 4.5, 2.0, 0.5))


def test_seeded_random_router_is_reproducible(three_queries: list[BenchmarkRecord]) -> None:
    table = performance_table(three_queries)
    first, again = random_router(table, seed=5), random_router(table, seed=5)
    assert first == again and first.name == "random (seed 5)"
    assert sum(first.model_share.values()) == pytest.approx(1.0)


def test_evaluate_checks_its_inputs(three_queries: list[BenchmarkRecord]) -> None:
    table = performance_table(three_queries)
    assert evaluate(table, ["A", "B", "B"], "x") == replace(oracle(table), name="x")
    assert single_model(table, "B").quality == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        evaluate(table, ["A"], "short")
    with pytest.raises(ValueError):
        evaluate_mixture(table, np.full((3, 2), 0.6), "not a distribution")


def two_model_table(strong: Sequence[float], weak: Sequence[float]) -> PerformanceTable:
    return performance_table(
        records_for({"S": strong, "W": weak}, {"S": [2.0] * len(strong), "W": [1.0] * len(weak)})
    )


def test_threshold_curve_apgr_and_cpt_by_hand() -> None:
    table = two_model_table(strong=[1, 1, 0, 1], weak=[0, 1, 0, 0])
    curve = threshold_curve(table, [0.9, 0.1, 0.5, 0.7], "S", "W")
    # Strong calls in score order q0, q3, q2, q1; only q0 and q3 gain (1 each).
    np.testing.assert_allclose(curve.strong_share, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curve.quality, [0.25, 0.5, 0.75, 0.75, 0.75])
    np.testing.assert_allclose(curve.pgr, [0, 0.5, 1, 1, 1])
    np.testing.assert_allclose(curve.total_cost, [4, 5, 6, 7, 8])
    assert apgr(curve) == pytest.approx(0.0625 + 0.1875 + 0.25 + 0.25)
    assert cpt(curve, 0.2) == pytest.approx(0.1)
    assert cpt(curve, 0.5) == pytest.approx(0.25)
    assert cpt(curve, 0.8) == pytest.approx(0.4)
    assert cpt(curve, 0.0) == 0.0
    assert math.isnan(cpt(curve, 1.5))
    assert route_by_threshold([0.9, 0.1, 0.5, 0.7], 0.5, "S", "W") == ["S", "W", "S", "S"]


def test_tied_scores_are_routed_as_a_block() -> None:
    table = two_model_table(strong=[1, 0, 1, 1], weak=[0, 0, 0, 1])
    curve = threshold_curve(table, [1, 1, 0, 0], "S", "W")
    np.testing.assert_allclose(curve.strong_share, [0, 0.5, 1])
    np.testing.assert_allclose(curve.pgr, [0, 0.5, 1])
    assert apgr(curve) == pytest.approx(0.5)
    assert cpt(curve, 0.2) == pytest.approx(0.2)


def bernoulli(rng: np.random.Generator, p: float, n: int) -> list[float]:
    return [float(x) for x in rng.random(n) < p]


def test_random_router_apgr_is_one_half() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    table = two_model_table(strong=bernoulli(rng, 0.8, n), weak=bernoulli(rng, 0.6, n))
    assert apgr(threshold_curve(table, np.zeros(n), "S", "W")) == pytest.approx(0.5)
    assert apgr(threshold_curve(table, rng.random(n), "S", "W")) == pytest.approx(0.5, abs=0.03)
    gap = table.performance[:, 0] - table.performance[:, 1]
    assert apgr(threshold_curve(table, gap, "S", "W")) > 0.9


def test_threshold_curve_rejects_bad_input() -> None:
    table = two_model_table(strong=[1, 0], weak=[0, 1])
    with pytest.raises(ValueError, match="undefined"):
        threshold_curve(table, [0.1, 0.2], "S", "W")
    with pytest.raises(ValueError, match="one score"):
        threshold_curve(two_model_table([1, 0], [0, 0]), [0.1], "S", "W")


def test_category_prior_scores() -> None:
    train = performance_table(
        records_for(
            {"S": [1, 1, 1], "W": [0, 1, 1]},
            {"S": [1] * 3, "W": [1] * 3},
            categories=["a", "a", "b"],
        )
    )
    test = performance_table(
        records_for(
            {"S": [0, 0, 0], "W": [0, 0, 0]},
            {"S": [1] * 3, "W": [1] * 3},
            categories=["a", "b", "new"],
        )
    )
    np.testing.assert_allclose(category_prior_scores(train, test, "S", "W"), [0.5, 0.0, 1 / 3])


def test_hull_is_non_decreasing_and_concave() -> None:
    costs, qualities = [1, 2, 3, 2.5, 3, 1], [0.5, 0.6, 0.9, 0.4, 0.7, 0.1]
    hull_c, hull_q = quality_cost_hull(costs, qualities)
    np.testing.assert_allclose(hull_c, [1, 3])
    np.testing.assert_allclose(hull_q, [0.5, 0.9])


def test_aiq_by_hand() -> None:
    costs, qualities = [1, 2, 3, 2.5], [0.5, 0.6, 0.9, 0.4]
    assert aiq(costs, qualities) == pytest.approx(1.4 / 2)
    assert aiq(costs, qualities, c_max=4) == pytest.approx((1.4 + 0.9) / 3)
    # Concave points are all kept; a dearer, worse point only extends the range flat.
    assert aiq([0, 1, 2], [0, 0.8, 0.9]) == pytest.approx((0.4 + 0.85) / 2)
    assert aiq([0, 1, 2, 3], [0, 0.8, 0.9, 0.5]) == pytest.approx((0.4 + 0.85 + 0.9) / 3)
    assert aiq([0, 1, 2], [0, 0.8, 0.9], c_min=1) == pytest.approx(0.85)
    with pytest.raises(ValueError, match="below"):
        aiq(costs, qualities, c_min=0)
    with pytest.raises(ValueError, match="empty"):
        aiq([1], [0.5])


def test_markdown_tables(three_queries: list[BenchmarkRecord]) -> None:
    assert markdown_table(["name", "x"], [["a", 0.5], ["b", 2]]) == (
        "| name | x |\n|:---|---:|\n| a | 0.5000 |\n| b | 2 |\n"
    )
    table = performance_table(three_queries)
    lines = results_table([oracle(table)]).splitlines()
    assert (
        lines[0] == "| strategy | quality | total cost ($) | mean latency (s) | best model chosen |"
    )
    assert lines[2] == "| oracle | 0.6667 | 4.0000 | 1.6667 | 100.0% |"
    curve = threshold_curve(
        two_model_table([1, 1, 0, 1], [0, 1, 0, 0]), [0.9, 0.1, 0.5, 0.7], "S", "W"
    )
    assert (
        curves_table([curve]).splitlines()[2]
        == "| router | 0.7500 | 10.0% | 25.0% | 40.0% | 0.6250 |"
    )


def test_plots_are_png(tmp_path: Path, three_queries: list[BenchmarkRecord]) -> None:
    pytest.importorskip("matplotlib")
    table = performance_table(three_queries)
    curve = threshold_curve(table, [0.3, 0.2, 0.1], "A", "B", "demo")
    for path in (
        plot_quality_vs_cost(tmp_path / "a" / "cost.png", baselines(table), [curve]),
        plot_quality_vs_strong_share(tmp_path / "share.png", [curve]),
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_model_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(1)
    n = 200
    records = records_for(
        {"S": bernoulli(rng, 0.8, n), "W": bernoulli(rng, 0.5, n)},
        {"S": [2.0] * n, "W": [1.0] * n},
        categories=[("a", "b")[i % 2] for i in range(n)],
    )
    report = two_model_report(records, "S", "W", plot_dir=tmp_path)
    assert "| oracle |" in report and "| random (expected) |" in report
    assert "| random (expected) | 0.5000 | 20.0% | 50.0% | 80.0% |" in report
    assert "| category prior |" in report and "| oracle scores |" in report
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "quality_vs_cost.png",
        "quality_vs_strong_share.png",
    ]
