"""`llmswitch eval`: scores every trained selector on the held-out split of benchmark records.

    llmswitch eval --data out/mmlu.jsonl --artifacts selectors/mmlu --name MMLU --plot-dir docs/img

Each selector's artifact is loaded exactly as the router loads it and scores the eval-split
queries (`split_of(query) == "eval"`). Reported: mean quality, total cost, mean latency and
% best model chosen of each selector's own choice, next to the oracle, random and each single
model; for two models, the threshold curve of each selector's strong-minus-weak score (APGR,
CPT(20/50/80%), AIQ); for more models, AIQ over a cost-penalty sweep.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import FactorWeights
from llmswitch.selection.kmeans import KmeansScorer
from llmswitch.selection.knn import KnnScorer
from llmswitch.selection.mlp import MlpScorer
from llmswitch.selection.multi_factor import MultiFactorScorer, ProfileArtifact
from llmswitch.selection.qos import QosScorer
from llmswitch.selection.svm import SvmScorer
from llmswitch.selection.threshold import ThresholdScorer
from llmswitch.training import module_main
from llmswitch.training.benchmark import BenchmarkRecord, read_records
from llmswitch.training.metrics import (
    PerformanceTable,
    StrategyResult,
    ThresholdCurve,
    aiq,
    apgr,
    baselines,
    category_prior_scores,
    curves_table,
    evaluate,
    markdown_table,
    performance_table,
    plot_quality_vs_cost,
    plot_quality_vs_strong_share,
    results_table,
    threshold_curve,
)
from llmswitch.training.pricing import PRICES
from llmswitch.training.selectors import ARTIFACT_FILES, domain_flag, strong_and_weak

Featurize = Callable[[Sequence[str]], np.ndarray]
NOT_OFFLINE = {
    "llm": "needs a live router model; not scored offline",
    "budget": "a wrapper: routes as its inner algorithm until the day's budget runs low",
}


@dataclass(frozen=True)
class EvalSettings:
    knn_k: int = 100
    efficiency_weight: float = 0.1
    factor_weights: FactorWeights = FactorWeights(quality=1.0, cost=0.1, latency=0.0)
    strong_share: float = 0.5


def _columns(scores: np.ndarray, scorer_models: Sequence[str], table: PerformanceTable) -> np.ndarray:
    """Reorder score columns from the artifact's model order to the table's."""
    if set(scorer_models) != set(table.models):
        raise ValueError(f"artifact models {sorted(scorer_models)} differ from the data's {sorted(table.models)}")
    return scores[:, [list(scorer_models).index(m) for m in table.models]]


def selector_scores(
    artifact_dir: Path, table: PerformanceTable, features: np.ndarray, prompt_tokens: np.ndarray, settings: EvalSettings
) -> dict[str, np.ndarray]:
    """Per selector found in `artifact_dir`: (queries, models) scores in the table's model order."""
    found: dict[str, np.ndarray] = {}

    def path(name: str) -> Path | None:
        p = artifact_dir / ARTIFACT_FILES[name]
        return p if p.is_file() else None

    if p := path("knn"):
        knn = KnnScorer.load(p, settings.knn_k)
        found[f"knn (k={settings.knn_k})"] = _columns(knn.scores(features), knn.models, table)
    if p := path("kmeans"):
        km = KmeansScorer.load(p, settings.efficiency_weight)
        found[f"kmeans ({len(km.centers)} clusters)"] = _columns(km.scores(features), km.models, table)
    if p := path("svm"):
        svm = SvmScorer.load(p)
        found[f"svm ({svm.kernel})"] = _columns(svm.scores(features), svm.models, table)
    if p := path("mlp"):
        mlp = MlpScorer(p)
        found[f"mlp {tuple(mlp.hidden_dims)}"] = _columns(mlp.scores(features), mlp.models, table)
    if p := path("qos"):
        qos = QosScorer.load(p)
        found[f"qos (criticality: {qos.meta.settings['criticality']})"] = _columns(qos.scores(features), qos.models, table)
    if p := path("multi_factor"):
        profile = ProfileArtifact.load(p)
        scorer = MultiFactorScorer(
            table.models, profile.profiles, {m: PRICES.get(m) for m in table.models},  # type: ignore[misc]
            {}, settings.factor_weights,
        )
        found["multi_factor"] = np.stack([scorer.scores(int(t))[0] for t in prompt_tokens])
    if p := path("threshold"):
        th = ThresholdScorer.load(p)
        win = th.strong_win(features)
        cut = th.threshold_for(settings.strong_share)
        scores = np.zeros((len(win), 2))
        scores[:, table.model_index(th.strong)] = win
        scores[:, table.model_index(th.weak)] = cut
        found[f"threshold (strong_share {settings.strong_share:g})"] = scores
    return found


def choices(table: PerformanceTable, scores: np.ndarray) -> list[str]:
    return [table.models[i] for i in np.argmax(scores, axis=1)]


def aiq_sweep(table: PerformanceTable, scores: np.ndarray, train_cost: np.ndarray, steps: int = 41) -> float:
    """AIQ of the (cost, quality) points reached by argmax(score - λ·relative model cost), λ swept,
    over the range from the cheapest to the priciest single model."""
    relative = train_cost / train_cost.max() if train_cost.max() > 0 else train_cost
    spread = float(np.ptp(scores)) or 1.0
    points = [evaluate(table, choices(table, scores - lam * spread * relative), "") for lam in np.linspace(0, 2, steps)]
    singles = table.cost.sum(axis=0)
    costs = [p.total_cost for p in points] + list(singles)
    qualities = [p.quality for p in points] + list(table.performance.mean(axis=0))
    return aiq(costs, qualities, float(singles.min()), float(singles.max()))


def apgr_interval(
    table: PerformanceTable, scores: np.ndarray, strong: str, weak: str, rounds: int = 200, seed: int = 0
) -> tuple[float, float]:
    """90% bootstrap interval of APGR, resampling the queries with replacement."""
    rng = np.random.default_rng(seed)
    n = len(scores)
    values = []
    for _ in range(rounds):
        rows = rng.integers(n, size=n)
        sample = PerformanceTable(tuple(map(str, range(n))), (), (), table.models, table.performance[rows],
                                  table.cost[rows], table.latency[rows])
        values.append(apgr(threshold_curve(sample, scores[rows], strong, weak)))
    low, high = np.percentile(values, [5, 95])
    return float(low), float(high)


@dataclass
class EvalReport:
    results: list[StrategyResult]
    curves: list[ThresholdCurve]
    aiq: dict[str, float]
    intervals: dict[str, tuple[float, float]]

    def markdown(self) -> str:
        text = results_table(self.results)
        models = list(self.results[0].model_share) if self.results else []
        shares = [[r.name, *(f"{100 * r.model_share[m]:.1f}%" for m in models)] for r in self.results]
        text += "\n" + markdown_table(["strategy", *(f"share {m}" for m in models)], shares)
        if self.curves:
            text += "\n" + curves_table(self.curves)
        if self.intervals:
            rows = [[name, f"{low:.3f} – {high:.3f}"] for name, (low, high) in self.intervals.items()]
            text += "\n" + markdown_table(["router", "APGR, 90% bootstrap interval"], rows)
        if self.aiq:
            text += "\n" + markdown_table(["selector", "AIQ (cost-penalty sweep)"], [[k, v] for k, v in self.aiq.items()])
        notes = [[name, why] for name, why in NOT_OFFLINE.items()]
        return text + "\n" + markdown_table(["selector", "not in the tables above"], notes)


def evaluate_selectors(
    records: Sequence[BenchmarkRecord],
    artifact_dir: Path,
    featurize: Featurize,
    settings: EvalSettings = EvalSettings(),
    plot_dir: Path | None = None,
) -> EvalReport:
    """Score every artifact in `artifact_dir` on the eval split of `records`."""
    test, train = performance_table(records, "eval"), performance_table(records, "train")
    tokens = {r.query_id: r.prompt_tokens for r in records}
    scores = selector_scores(artifact_dir, test, featurize(list(test.queries)),
                             np.array([tokens[q] for q in test.query_ids]), settings)
    results = baselines(test) + [evaluate(test, choices(test, s), name) for name, s in scores.items()]
    curves: list[ThresholdCurve] = []
    aiqs: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    if len(test.models) == 2:
        s, w = strong_and_weak(train)
        strong, weak = test.models[s], test.models[w]
        curves.append(threshold_curve(test, np.zeros(len(test.query_ids)), strong, weak, "random (expected)"))
        curves.append(threshold_curve(test, category_prior_scores(train, test, strong, weak), strong, weak,
                                      "category prior"))
        curves += [threshold_curve(test, v[:, s] - v[:, w], strong, weak, name) for name, v in scores.items()]
        intervals = {name: apgr_interval(test, v[:, s] - v[:, w], strong, weak) for name, v in scores.items()}
        gap = test.performance[:, s] - test.performance[:, w]
        curves.append(threshold_curve(test, gap, strong, weak, "oracle scores"))
    else:
        mean_cost = train.cost.mean(axis=0)
        aiqs = {name: aiq_sweep(test, v, mean_cost) for name, v in scores.items()}
    if plot_dir is not None:
        plot_quality_vs_cost(plot_dir / "quality_vs_cost.png", results, curves)
        if curves:
            plot_quality_vs_strong_share(plot_dir / "quality_vs_strong_share.png", curves)
    return EvalReport(results, curves, aiqs, intervals)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = EvalSettings()
    parser.add_argument("--data", type=Path, required=True, help="Benchmark JSONL (training/benchmark.py format).")
    parser.add_argument("--artifacts", type=Path, required=True, help="Folder written by `train selectors`.")
    parser.add_argument("--name", default=None, help="Heading for the report (default: the data file's name).")
    parser.add_argument("--plot-dir", type=Path, default=None, help="Write PNG plots here.")
    parser.add_argument("--out", type=Path, default=None, help="Write the Markdown here (default: stdout).")
    parser.add_argument("--knn-k", type=int, default=d.knn_k)
    parser.add_argument("--efficiency-weight", type=float, default=d.efficiency_weight, help="kmeans trade-off.")
    parser.add_argument("--strong-share", type=float, default=d.strong_share, help="threshold selector's target.")
    parser.add_argument("--cache-dir", type=Path, default=None, help="Embedding cache (default: the user cache).")
    parser.add_argument("--domain", choices=("auto", "on", "off"), default="auto",
                        help="Domain one-hot features; use what the artifacts were trained with.")


def run(args: argparse.Namespace) -> int:
    from llmswitch.training.features import feature_lookup

    settings = EvalSettings(knn_k=args.knn_k, efficiency_weight=args.efficiency_weight, strong_share=args.strong_share)
    records = read_records(args.data)
    featurize = feature_lookup([r.query for r in records], args.cache_dir, with_domain=domain_flag(args.domain))
    report = evaluate_selectors(records, args.artifacts, featurize, settings, args.plot_dir)
    text = f"### {args.name or args.data.stem} (eval split)\n\n{report.markdown()}"
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    return module_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
