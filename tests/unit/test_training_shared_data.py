"""Checks on the real RouteLLM and LLMPerf data; skipped where the shared data is absent."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy", reason="metrics need numpy")

import numpy as np

from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.datasets import build_records, shared_data_dir
from llmswitch.training.metrics import apgr, baselines, performance_table, threshold_curve
from llmswitch.training.pricing import STRONG_MODEL, WEAK_MODEL

pytestmark = pytest.mark.skipif(
    not (shared_data_dir() / "routellm").is_dir()
    or not (shared_data_dir() / "llmperf_leaderboard").is_dir(),
    reason="shared data not found (set LLMSWITCH_SHARED_DATA)",
)


@pytest.fixture(scope="module")
def mmlu() -> list[BenchmarkRecord]:
    return build_records("mmlu")


@pytest.fixture(scope="module")
def gsm8k() -> list[BenchmarkRecord]:
    return build_records("gsm8k")


@pytest.mark.parametrize(
    ("name", "queries", "strong", "weak", "best"),
    [("mmlu", 14_037, 0.806, 0.681, 0.859), ("gsm8k", 1_307, 0.858, 0.637, 0.930)],
)
def test_decontaminated_accuracy_matches_routellm(
    name: str, queries: int, strong: float, weak: float, best: float, request: pytest.FixtureRequest
) -> None:
    table = performance_table(request.getfixturevalue(name))
    assert len(table.query_ids) == queries
    results = {r.name: r.quality for r in baselines(table)}
    assert results[STRONG_MODEL] == pytest.approx(strong, abs=5e-4)
    assert results[WEAK_MODEL] == pytest.approx(weak, abs=5e-4)
    assert results["oracle"] == pytest.approx(best, abs=5e-4)


def test_mt_bench_scores() -> None:
    results = {r.name: r.quality for r in baselines(performance_table(build_records("mt_bench")))}
    assert results[STRONG_MODEL] == pytest.approx(0.9212, abs=1e-4)
    assert results[WEAK_MODEL] == pytest.approx(0.8281, abs=1e-4)


def test_records_are_complete_and_priced(gsm8k: list[BenchmarkRecord]) -> None:
    assert all(r.cost > 0 and r.response_time > 0 and r.completion_tokens > 0 for r in gsm8k)
    assert all(r.ground_truth for r in gsm8k)
    strong = [r for r in gsm8k if r.model_name == STRONG_MODEL]
    weak = [r for r in gsm8k if r.model_name == WEAK_MODEL]
    assert sum(r.cost for r in strong) > 50 * sum(r.cost for r in weak)


def test_random_routers_recover_half_the_gap_on_the_eval_split(mmlu: list[BenchmarkRecord]) -> None:
    table = performance_table(mmlu, "eval")
    rng = np.random.default_rng(0)
    n = len(table.query_ids)
    values = [
        apgr(threshold_curve(table, rng.random(n), STRONG_MODEL, WEAK_MODEL)) for _ in range(20)
    ]
    assert float(np.mean(values)) == pytest.approx(0.5, abs=0.02)
