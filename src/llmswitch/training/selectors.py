"""`llmswitch train selectors`: trains every learned selector's artifact from benchmark records.

    llmswitch train selectors --data out/mmlu.jsonl --out selectors/mmlu

Only the train split is used (`--split-key`, `--eval-share`, `--split-seed`; `--folds k` trains
one set per fold; `--all-data` or `--from-eval DIR` trains on every record, for deployment).
Labels are each query's highest-utility model (`--quality-weight`, `--cost-weight`,
`--latency-weight`). A validation share of the training split calibrates each selector's operating
point (`--operating-point`) and stops the MLP and the qos regressors early; the artifacts are then
refitted on the whole training split. `OUT/training.json` records the settings and the validation
figures. Seeded and reproducible: the same data and settings give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from llmswitch.training import module_main
from llmswitch.training.benchmark import BenchmarkFileError, BenchmarkRecord
from llmswitch.training.calibrate import OBJECTIVES, OperatingPoint, calibrate, direction
from llmswitch.training.options import add_data_arguments, add_split_arguments, domain_flag, load_data, split_from
from llmswitch.training.selector_data import (
    ALGORITHMS,
    Featurize,
    TrainingData,
    TrainSettings,
    training_data,
)
from llmswitch.training.trainers import (
    fit_kmeans,
    fit_knn,
    fit_profile,
    fit_qos,
    fit_svm,
    fit_threshold,
    make_meta,
)
from llmswitch.training.utility import UtilityWeights

ARTIFACT_FILES = {
    "knn": "knn.npz",
    "kmeans": "kmeans.npz",
    "svm": "svm.npz",
    "mlp": "mlp.onnx",
    "qos": "qos.npz",
    "multi_factor": "profile.json",
    "threshold": "threshold.npz",
}
REPORT_FILE = "training.json"

__all__ = ["ALGORITHMS", "ARTIFACT_FILES", "TrainSettings", "train_selectors", "train_folds"]


def _operating_point(scores: np.ndarray | None, data: TrainingData, val_rows: np.ndarray,
                     settings: TrainSettings) -> OperatingPoint:
    if scores is None or len(val_rows) == 0:
        return OperatingPoint("argmax", np.zeros(len(data.table.models)), {"note": "no validation split"})
    return calibrate(scores, data.table.subset(val_rows), data.utility[val_rows], settings.operating_point,
                     direction(data.table))


def _calibrated(fit: Callable[[TrainingData], Any], data: TrainingData, fit_rows: np.ndarray,
                val_rows: np.ndarray, settings: TrainSettings) -> tuple[Any, OperatingPoint]:
    """Fit on the fitting rows to calibrate on the validation rows, then refit on every row."""
    scores = None
    if len(val_rows) and settings.operating_point != "argmax":
        scores = fit(data.subset(fit_rows)).scores(data.features[val_rows])
    point = _operating_point(scores, data, val_rows, settings)
    final = fit(data)
    final.meta.settings["operating_point"] = point.to_settings()
    return final, point


def _train_mlp(data: TrainingData, fit_rows: np.ndarray, val_rows: np.ndarray,
               settings: TrainSettings) -> tuple[bytes, dict[str, Any]]:
    from llmswitch.training.mlp import export_onnx, fit_mlp

    epochs, scores = settings.mlp_epochs, None
    if len(val_rows):
        probe = fit_mlp(data.subset(fit_rows), settings, val=data.subset(val_rows))
        epochs, scores = probe.epochs, probe.scores(data.features[val_rows])
    point = _operating_point(scores if settings.operating_point != "argmax" else None, data, val_rows, settings)
    final = fit_mlp(data, settings, epochs=epochs)
    meta = make_meta("mlp", data, settings, hidden_dims=list(settings.mlp_hidden_dims), dropout=settings.mlp_dropout,
                     epochs=epochs, lr=settings.mlp_lr, operating_point=point.to_settings())
    return export_onnx(final.net, data.features.shape[1], meta), {"epochs": epochs, **point.to_settings()}


def train_selectors(
    records: Sequence[BenchmarkRecord],
    out_dir: Path,
    featurize: Featurize,
    settings: TrainSettings = TrainSettings(),
    source: Path | None = None,
    progress: bool = False,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Train `settings.algorithms` and write their artifacts and `training.json` to `out_dir`."""
    from tqdm import tqdm

    data = training_data(records, featurize, settings, source)
    fit_rows, val_rows = data.validation_rows(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    report: dict[str, Any] = {}
    for name in tqdm(settings.algorithms, desc="training", unit="selector", disable=not progress):
        path = out_dir / ARTIFACT_FILES[name]
        if name == "mlp":
            onnx, report[name] = _train_mlp(data, fit_rows, val_rows, settings)
            path.write_bytes(onnx)
        elif name == "qos":
            scorer, val_scores = fit_qos(data, settings, fit_rows, val_rows)
            point = _operating_point(val_scores if settings.operating_point != "argmax" else None, data, val_rows,
                                     settings)
            scorer.meta.settings["operating_point"] = point.to_settings()
            scorer.save(path)
            report[name] = {**point.to_settings(), "regressors": scorer.meta.settings["validation"]}
        elif name in ("knn", "kmeans", "svm"):
            fit = {"knn": fit_knn, "kmeans": fit_kmeans, "svm": fit_svm}[name]
            scorer, point = _calibrated(lambda d, fit=fit: fit(d, settings), data, fit_rows, val_rows, settings)
            scorer.save(path)
            report[name] = point.to_settings()
        elif name == "multi_factor":
            fit_profile(data, settings, records).save(path)
            report[name] = {}
        else:  # threshold
            if len(data.table.models) != 2:
                report[name] = {"skipped": "needs exactly two models"}
                continue
            try:
                fit_threshold(data, settings).save(path)
            except ValueError as exc:
                report[name] = {"skipped": str(exc)}
                continue
            report[name] = {}
        written[name] = path
    summary = {"settings": settings.to_dict(), "train_queries": len(data.table.query_ids),
               "validation_queries": len(val_rows), "notes": [*notes, *data.notes], "selectors": report}
    (out_dir / REPORT_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written


def train_folds(records: Sequence[BenchmarkRecord], out_dir: Path, featurize: Featurize, settings: TrainSettings,
                source: Path | None = None, progress: bool = False, notes: Sequence[str] = ()) -> dict[str, Path]:
    """One artifact set per fold under `out_dir/fold-<i>` (or one set in `out_dir` without folds)."""
    folds = settings.split.folds
    if not folds or settings.all_data:
        return train_selectors(records, out_dir, featurize, settings, source, progress, notes)
    written = {}
    for fold in range(folds):
        fold_settings = replace(settings, split=settings.split.with_fold(fold))
        for name, path in train_selectors(records, out_dir / f"fold-{fold}", featurize, fold_settings, source,
                                          progress, notes).items():
            written[f"fold-{fold}/{name}"] = path
    return written


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainSettings()
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="Folder for the artifacts.")
    parser.add_argument("--from-eval", type=Path, default=None, metavar="DIR",
                        help="Retrain on every record with the settings of an evaluated artifact folder "
                        "(its training.json), for deployment.")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS), help="Comma-separated subset to train.")
    add_split_arguments(parser, evaluating=False)
    parser.add_argument("--all-data", action="store_true", help="Train on every record (nothing held out).")
    parser.add_argument("--val-share", type=float, default=d.val_share,
                        help="Share of the training split used to calibrate and stop early (0: none).")
    parser.add_argument("--operating-point", choices=OBJECTIVES, default=d.operating_point,
                        help="utility: best validation utility; match-best: cheapest point at the best single "
                        "model's validation quality; argmax: uncalibrated.")
    parser.add_argument("--quality-weight", type=float, default=d.weights.quality)
    parser.add_argument("--cost-weight", type=float, default=None,
                        help="Weight of efficiency (1 - cost / max cost); default 1 - quality - latency weight.")
    parser.add_argument("--latency-weight", type=float, default=0.0,
                        help="Weight of speed_factor = 1 / (1 + latency / max latency).")
    parser.add_argument("--knn-k", type=int, default=d.knn_k)
    parser.add_argument("--kmeans-clusters", type=int, default=d.kmeans_clusters)
    parser.add_argument("--svm-kernel", choices=("rbf", "linear"), default=d.svm_kernel)
    parser.add_argument("--svm-gamma", type=float, default=None, help="RBF width (default: 1 / (features * variance)).")
    parser.add_argument("--mlp-hidden-dims", type=_dims, default=d.mlp_hidden_dims, help="e.g. 256,128")
    parser.add_argument("--mlp-dropout", type=float, default=d.mlp_dropout)
    parser.add_argument("--mlp-epochs", type=int, default=d.mlp_epochs, help="At most; early stopping picks.")
    parser.add_argument("--mlp-lr", type=float, default=d.mlp_lr)
    parser.add_argument("--device", choices=("cpu", "cuda"), default=d.device, help="Where the MLP trains.")
    parser.add_argument("--limit", type=int, default=None, help="Train on at most this many queries (seeded sample).")
    parser.add_argument("--seed", type=int, default=d.seed)


def settings_from(args: argparse.Namespace) -> TrainSettings:
    if args.from_eval is not None:
        report = args.from_eval / REPORT_FILE
        try:
            saved = json.loads(report.read_text(encoding="utf-8"))["settings"]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"--from-eval: cannot read the settings in {report}: {exc}") from None
        return replace(TrainSettings.from_dict(saved), all_data=True)
    algorithms = tuple(a.strip() for a in args.algorithms.split(",") if a.strip())
    unknown = set(algorithms) - set(ALGORITHMS)
    if unknown:
        raise ValueError(f"unknown algorithms {sorted(unknown)}; expected some of {ALGORITHMS}")
    cost = args.cost_weight
    if cost is None:
        cost = max(0.0, 1.0 - args.quality_weight - args.latency_weight)
    return TrainSettings(
        knn_k=args.knn_k, kmeans_clusters=args.kmeans_clusters, svm_kernel=args.svm_kernel, svm_gamma=args.svm_gamma,
        mlp_hidden_dims=tuple(args.mlp_hidden_dims), mlp_dropout=args.mlp_dropout, mlp_epochs=args.mlp_epochs,
        mlp_lr=args.mlp_lr, weights=UtilityWeights(args.quality_weight, cost, args.latency_weight),
        device=args.device, limit=args.limit, seed=args.seed, algorithms=algorithms, split=split_from(args),
        all_data=args.all_data, val_share=args.val_share, operating_point=args.operating_point,
    )


def run(args: argparse.Namespace) -> int:
    from llmswitch.training.features import feature_lookup

    try:
        settings = settings_from(args)
        loaded = load_data(args)
        featurize = feature_lookup([r.query for r in loaded.records], args.cache_dir,
                                   with_domain=domain_flag(args.domain))
        written = train_folds(loaded.records, args.out, featurize, settings, source=args.data, progress=True,
                              notes=loaded.notes)
    except (BenchmarkFileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = sorted(args.out.rglob(REPORT_FILE))
    print(json.dumps({"artifacts": {k: str(v) for k, v in written.items()},
                      "reports": [str(p) for p in reports],
                      "notes": json.loads(reports[0].read_text())["notes"] if reports else []}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    return module_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
