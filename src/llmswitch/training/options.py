"""Command-line options `llmswitch train selectors` and `llmswitch eval` share: data, prices, split."""

from __future__ import annotations

import argparse
from pathlib import Path

from llmswitch.training.benchmark import LoadedRecords, load_records
from llmswitch.training.pricing import Price
from llmswitch.training.split import EVAL_FRACTION, SplitSpec


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True,
                        help="Benchmark JSONL (llmswitch's or vLLM Semantic Router's format).")
    parser.add_argument("--config", type=Path, default=None,
                        help="llmswitch config: models[].pricing prices records without `cost` (and multi_factor); "
                        "descriptions feed the llm selector in eval.")
    parser.add_argument("--clip-performance", action="store_true",
                        help="Clip scores outside [0, 1] instead of failing on them.")
    parser.add_argument("--cache-dir", type=Path, default=None, help="Embedding cache (default: the user cache).")
    parser.add_argument("--domain", choices=("auto", "on", "off"), default="auto",
                        help="Domain one-hot features: auto uses the classifier when its head is installed.")


def add_split_arguments(parser: argparse.ArgumentParser, evaluating: bool) -> None:
    where = " (default: what the artifacts were trained with)" if evaluating else ""
    parser.add_argument("--split-key", choices=("query", "query_id"), default=None,
                        help=f"What the split hashes: the query text or its query_id{where}.")
    parser.add_argument("--eval-share", type=float, default=None,
                        help=f"Share of queries held out for evaluation (default {EVAL_FRACTION}){where}.")
    parser.add_argument("--split-seed", type=int, default=None, help=f"Reshuffles the split (default 0){where}.")
    if not evaluating:  # eval finds the fold-<i> folders the training wrote
        parser.add_argument("--folds", type=int, default=None,
                            help="k-fold: train one artifact set per fold under OUT/fold-<i>; eval reads them all.")


def split_from(args: argparse.Namespace, base: SplitSpec | None = None) -> SplitSpec:
    """The split the arguments ask for, on top of `base` (the artifacts', or the default)."""
    base = base or SplitSpec()
    return SplitSpec(
        key=args.split_key or base.key,
        eval_share=args.eval_share if args.eval_share is not None else base.eval_share,
        seed=args.split_seed if args.split_seed is not None else base.seed,
        folds=getattr(args, "folds", None) or base.folds,
        fold=base.fold,
    )


def config_prices(path: Path | None) -> dict[str, Price]:
    """models[].pricing of a config, by model name (empty without a config)."""
    if path is None:
        return {}
    from llmswitch.config import load_config

    config = load_config(path).config
    return {m.name: Price(m.pricing.input_per_1m, m.pricing.output_per_1m) for m in config.models if m.pricing}


def load_data(args: argparse.Namespace) -> LoadedRecords:
    return load_records(args.data, args.clip_performance, config_prices(args.config))


def domain_flag(value: str) -> bool | None:
    return {"auto": None, "on": True, "off": False}[value]
