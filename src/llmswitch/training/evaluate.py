"""`llmswitch eval`: scores every trained selector on the held-out split of benchmark records.

    llmswitch eval --data out/mmlu.jsonl --artifacts selectors/mmlu --name MMLU --plot-dir docs/img

Each selector's artifact is loaded exactly as the router loads it and routes the eval-split
queries of the split it was trained with (recorded in `training.json`; k-fold artifact folders
are evaluated fold by fold). Reported for any number of models, next to the oracle, random and
each single model: quality, cost per 1,000 queries and latency with their spread, best model
chosen, realised QoS, the RouterArena score, the cost-aware figures (quality at the best single
model's cost, cost for its quality, convex-hull AIQ against the single models) and, for two
models, the threshold curves (APGR, CPT, AIQ). `--llm-url` scores the llm selector as well.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llmswitch.training import module_main
from llmswitch.training.benchmark import BenchmarkFileError, BenchmarkRecord
from llmswitch.training.calibrate import direction
from llmswitch.training.llm_eval import LlmRouter, llm_choices
from llmswitch.training.metrics import (
    PerformanceTable,
    ThresholdCurve,
    apgr,
    best_model_indices,
    category_prior_scores,
    performance_table,
    threshold_curve,
)
from llmswitch.training.offline import EvalSettings, artifact_split, selector_scores
from llmswitch.training.options import (
    add_data_arguments,
    add_split_arguments,
    config_prices,
    domain_flag,
    load_data,
    split_from,
)
from llmswitch.training.pricing import Price
from llmswitch.training.report import BOOTSTRAP_ROUNDS, SplitFigures, assess, combine, one_hot, render, roles
from llmswitch.training.selector_data import Featurize
from llmswitch.training.split import SplitSpec

NOT_OFFLINE = {"budget": "a wrapper: routes as its inner algorithm until the day's budget runs low"}
NO_LLM = "needs a router model: pass --llm-url and --llm-model to score it"

__all__ = ["EvalReport", "EvalSettings", "evaluate_selectors"]


@dataclass
class SplitResult:
    figures: SplitFigures
    curves: list[ThresholdCurve] = field(default_factory=list)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    description: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    """Selectors found but not scored, with the reason."""


@dataclass
class EvalReport:
    figures: SplitFigures
    """Combined over folds (one split: that split)."""
    splits: list[SplitResult]
    text: str

    @property
    def curves(self) -> list[ThresholdCurve]:
        return self.splits[0].curves

    def markdown(self) -> str:
        return self.text


def _bootstrap_apgr(table: PerformanceTable, scores: np.ndarray, strong: str, weak: str,
                    rounds: int = 200, seed: int = 0) -> tuple[float, float]:
    """90% bootstrap interval of APGR, resampling the queries with replacement."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        rows = rng.integers(len(scores), size=len(scores))
        sample = table.subset(rows)
        if sample.performance[:, sample.model_index(strong)].mean() != sample.performance[
                :, sample.model_index(weak)].mean():
            values.append(apgr(threshold_curve(sample, scores[rows], strong, weak)))
    low, high = np.percentile(values, [5, 95]) if values else (float("nan"), float("nan"))
    return float(low), float(high)


def evaluate_split(
    records: Sequence[BenchmarkRecord], artifact_dir: Path, featurize: Featurize, settings: EvalSettings,
    spec: SplitSpec, pricing: Mapping[str, Price] | None = None, llm: LlmRouter | None = None,
    config: Path | None = None,
) -> SplitResult:
    """Every artifact in `artifact_dir` (and the llm router, if given) on the eval split of `spec`."""
    test, train = performance_table(records, "eval", spec), performance_table(records, "train", spec)
    if not test.query_ids or not train.query_ids:
        raise ValueError(f"the split ({spec.describe()}) leaves no {'eval' if not test.query_ids else 'train'} queries")
    tokens = {r.query_id: r.prompt_tokens for r in records}
    refused: dict[str, str] = {}
    scores = selector_scores(artifact_dir, test, featurize(list(test.queries)),
                             np.array([tokens[q] for q in test.query_ids]), settings, pricing, refused)
    strategies: dict[str, np.ndarray] = {
        "oracle": one_hot(test, [test.models[i] for i in best_model_indices(test)]),
        "random (expected)": np.full(test.performance.shape, 1.0 / len(test.models)),
    }
    strategies |= {m: one_hot(test, [m] * len(test.query_ids)) for m in test.models}
    strategies |= {name: one_hot(test, [test.models[i] for i in np.argmax(s, axis=1)]) for name, s in scores.items()}
    description = [f"eval split: {len(test.query_ids)} queries ({spec.describe()}); "
                   f"train split: {len(train.query_ids)}", roles(train)[2]]
    if llm is not None:
        cheapest = train.models[int(np.argmin(train.cost.mean(0)))] if train.cost_known else train.models[0]
        run = llm_choices(list(test.queries), test.models, llm, cheapest, config)
        strategies[f"llm ({llm.model})"] = one_hot(test, run.choices)
        mean_ms = float(np.mean(run.latency_ms)) if run.latency_ms else 0.0
        description.append(f"llm router {llm.model}: {dict(run.results)}, mean {mean_ms:.0f} ms a call, "
                           f"router cost ${run.cost:.4f} (not included in the routing cost)")
    d = direction(train)
    figures = assess(test, strategies, scores, d)
    result = SplitResult(figures, description=description, refused=refused)
    if len(test.models) == 2 and test.performance[:, 0].mean() != test.performance[:, 1].mean():
        strong = roles(train)[0]
        weak = next(m for m in test.models if m != strong)
        s, w = test.model_index(strong), test.model_index(weak)
        result.curves = [threshold_curve(test, np.zeros(len(test.query_ids)), strong, weak, "random (expected)"),
                         threshold_curve(test, category_prior_scores(train, test, strong, weak), strong, weak,
                                         "category prior")]
        result.curves += [threshold_curve(test, v[:, s] - v[:, w], strong, weak, name) for name, v in scores.items()]
        result.curves.append(threshold_curve(test, test.performance[:, s] - test.performance[:, w], strong, weak,
                                             "oracle scores"))
        result.intervals = {name: _bootstrap_apgr(test, v[:, s] - v[:, w], strong, weak)
                            for name, v in scores.items()}
    return result


def evaluate_selectors(
    records: Sequence[BenchmarkRecord],
    artifact_dir: Path,
    featurize: Featurize,
    settings: EvalSettings = EvalSettings(),
    plot_dir: Path | None = None,
    spec: SplitSpec | None = None,
    pricing: Mapping[str, Price] | None = None,
    llm: LlmRouter | None = None,
    config: Path | None = None,
    name: str = "evaluation",
    notes: Sequence[str] = (),
) -> EvalReport:
    """Score the artifacts in `artifact_dir` (or in its `fold-<i>` folders, one split each)."""
    folders = sorted(p for p in artifact_dir.glob("fold-*") if p.is_dir()) or [artifact_dir]
    splits = []
    for folder in folders:
        trained = artifact_split(folder)
        chosen = spec or trained or SplitSpec()
        if spec is not None and trained is not None and spec != trained:
            raise ValueError(f"{folder} was trained with {trained.describe()}; evaluating with {spec.describe()} "
                             "would score queries it learnt from")
        splits.append(evaluate_split(records, folder, featurize, settings, chosen, pricing, llm, config))
    figures = combine([s.figures for s in splits])
    spread = (f"over {len(splits)} folds" if len(splits) > 1
              else f"over {BOOTSTRAP_ROUNDS} bootstrap resamples of the eval queries")
    not_scored = splits[0].refused | dict(NOT_OFFLINE) | ({} if llm else {"llm": NO_LLM})
    description = [*notes, *splits[0].description]
    if len(splits) > 1:
        description[len(notes)] = f"{len(splits)} folds; figures are the mean over folds ± their standard deviation"
    text = render(figures, f"{name}", description, spread, splits[0].curves if len(splits) == 1 else (),
                  splits[0].intervals if len(splits) == 1 else None, not_scored)
    if plot_dir is not None:
        from llmswitch.training.plots import plot_quality_vs_strong_share, plot_router_costs, plot_router_latency

        plot_router_costs(plot_dir / "quality_vs_cost.png", splits[0].figures)
        if figures.table.latency_known:
            plot_router_latency(plot_dir / "quality_vs_latency.png", figures)
        if splits[0].curves:
            plot_quality_vs_strong_share(plot_dir / "quality_vs_strong_share.png", splits[0].curves)
    return EvalReport(figures, splits, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = EvalSettings()
    add_data_arguments(parser)
    parser.add_argument("--artifacts", type=Path, required=True, help="Folder written by `train selectors`.")
    add_split_arguments(parser, evaluating=True)
    parser.add_argument("--name", default=None, help="Heading for the report (default: the data file's name).")
    parser.add_argument("--plot-dir", type=Path, default=None, help="Write PNG plots here.")
    parser.add_argument("--out", type=Path, default=None, help="Write the Markdown here (default: stdout).")
    parser.add_argument("--knn-k", type=int, default=None, help="Neighbours (default: the artifact's k).")
    parser.add_argument("--efficiency-weight", type=float, default=None,
                        help="kmeans trade-off (default: the trained utility weights).")
    parser.add_argument("--strong-share", type=float, default=d.strong_share, help="threshold selector's target.")
    parser.add_argument("--llm-url", default=None, help="OpenAI-compatible API root of a router model, to score `llm`.")
    parser.add_argument("--llm-model", default=None, help="The router model's id.")
    parser.add_argument("--llm-api-key-env", default=None)
    parser.add_argument("--llm-timeout-ms", type=int, default=10_000)


def run(args: argparse.Namespace) -> int:
    from llmswitch.training.features import feature_lookup

    try:
        settings = EvalSettings(knn_k=args.knn_k, efficiency_weight=args.efficiency_weight,
                                strong_share=args.strong_share)
        loaded = load_data(args)
        trained = artifact_split(args.artifacts) if (args.artifacts / "training.json").is_file() else None
        explicit = any(v is not None for v in (args.split_key, args.eval_share, args.split_seed))
        spec = split_from(args, trained) if explicit else None
        llm = None
        if args.llm_url:
            llm = LlmRouter(args.llm_url, args.llm_model or "router", api_key_env=args.llm_api_key_env,
                            timeout_ms=args.llm_timeout_ms)
        featurize = feature_lookup([r.query for r in loaded.records], args.cache_dir,
                                   with_domain=domain_flag(args.domain))
        report = evaluate_selectors(loaded.records, args.artifacts, featurize, settings, args.plot_dir, spec,
                                    config_prices(args.config), llm, args.config, args.name or args.data.stem,
                                    loaded.notes)
    except (BenchmarkFileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report.markdown(), encoding="utf-8")
    else:
        print(report.markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    return module_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
