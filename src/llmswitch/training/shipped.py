"""`llmswitch train shipped`: rebuilds the selector artifacts shipped in the package, byte for byte.

    llmswitch train shipped                     # writes src/llmswitch/data/selectors/demo/
    llmswitch train shipped --out /tmp/check    # elsewhere, e.g. to compare with the shipped files

They route between the demo's `large-model` and `small-model` and are trained on the train split
of the RouteLLM MMLU, GSM8K and MT-Bench results the project already uses (docs/datasets.md),
with GPT-4 (gpt-4-1106-preview) standing in for `large-model` and Mixtral-8x7B for `small-model`.
The operating point is `match-best`: the cheapest routing that keeps the large model's
validation quality. Training is seeded and single-threaded where it matters, so the same data,
embedding cache and library versions give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.resources import files
from pathlib import Path

from llmswitch.training import module_main
from llmswitch.training.benchmark import BenchmarkRecord, write_records
from llmswitch.training.datasets import DATASETS, build_records
from llmswitch.training.pricing import STRONG_MODEL, WEAK_MODEL
from llmswitch.training.selector_data import ALGORITHMS, TrainSettings

RENAME = {STRONG_MODEL: "large-model", WEAK_MODEL: "small-model"}
SETTINGS = TrainSettings(components=48, operating_point="match-best", algorithms=ALGORITHMS)
"""knn over 48 principal components keeps the shipped knn.npz near 1 MB."""


def shipped_dir() -> Path:
    return Path(str(files("llmswitch") / "data" / "selectors" / "demo"))


def renamed(records: list[BenchmarkRecord]) -> list[BenchmarkRecord]:
    return [r.model_copy(update={"model_name": RENAME.get(r.model_name, r.model_name)}) for r in records]


def shipped_records(data_dir: Path | None = None) -> dict[str, list[BenchmarkRecord]]:
    """Per data set, its records with the demo's model names (seed 0, as docs/datasets.md builds them)."""
    return {name: renamed(build_records(name, seed=0, data_dir=data_dir)) for name in DATASETS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="Default: the package's data/selectors/demo.")
    parser.add_argument("--data-out", type=Path, default=None,
                        help="Also write each data set's renamed records here (for `llmswitch eval`).")
    parser.add_argument("--cache-dir", type=Path, default=None, help="Embedding cache (default: the user cache).")


def run(args: argparse.Namespace) -> int:
    from llmswitch.training.features import feature_lookup
    from llmswitch.training.selectors import train_selectors

    try:
        per_dataset = shipped_records()
    except (OSError, ValueError) as exc:
        print(f"error: cannot build the data sets ({exc}); see docs/datasets.md for where the data lives",
              file=sys.stderr)
        return 2
    if args.data_out is not None:
        for name, records in per_dataset.items():
            write_records(records, args.data_out / f"{name}.jsonl")
    records = [r for name in DATASETS for r in per_dataset[name]]
    featurize = feature_lookup([r.query for r in records], args.cache_dir, with_domain=True)
    out = args.out or shipped_dir()
    written = train_selectors(records, out, featurize, SETTINGS, progress=True,
                              notes=[f"data: RouteLLM {', '.join(DATASETS)}; models renamed {RENAME}"])
    print(json.dumps({k: str(v) for k, v in written.items()}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    return module_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
