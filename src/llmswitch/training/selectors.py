"""`llmswitch train selectors`: trains every learned selector's artifact from benchmark records.

    llmswitch train selectors --data out/mmlu.jsonl --out selectors/mmlu

Only the train split (`split_of(query) == "train"`) is used. Seeded and reproducible: the same
data and settings give the same artifacts. Parameter names follow vLLM Semantic Router's trainer.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from llmswitch.selection.artifact import ArtifactMeta
from llmswitch.selection.features import DOMAIN_DIMS
from llmswitch.selection.kmeans import KmeansScorer
from llmswitch.selection.knn import KnnScorer, project
from llmswitch.selection.multi_factor import ModelProfile, ProfileArtifact
from llmswitch.selection.qos import QosScorer
from llmswitch.selection.svm import SvmScorer
from llmswitch.selection.threshold import ThresholdScorer
from llmswitch.training import module_main
from llmswitch.training.benchmark import BenchmarkRecord, read_records
from llmswitch.training.metrics import PerformanceTable, performance_table

Featurize = Callable[[Sequence[str]], np.ndarray]
ALGORITHMS = ("knn", "kmeans", "svm", "mlp", "qos", "multi_factor", "threshold")
ARTIFACT_FILES = {
    "knn": "knn.npz",
    "kmeans": "kmeans.npz",
    "svm": "svm.npz",
    "mlp": "mlp.onnx",
    "qos": "qos.npz",
    "multi_factor": "profile.json",
    "threshold": "threshold.npz",
}
CRITICALITY_FIELDS = ("mission_criticality", "time_criticality")


@dataclass(frozen=True)
class TrainSettings:
    knn_k: int = 100
    kmeans_clusters: int = 8
    svm_kernel: str = "rbf"
    svm_gamma: float | None = None
    """None: sklearn's "scale" (1 / (features * variance)), stored as a number."""
    svm_c: float = 1.0
    mlp_hidden_dims: tuple[int, ...] = (256, 128)
    mlp_dropout: float = 0.1
    mlp_epochs: int = 30
    mlp_lr: float = 1e-3
    quality_weight: float = 0.9
    """Utility = quality_weight * performance + (1 - quality_weight) * efficiency."""
    components: int = 64
    """Principal components kept for knn and svm."""
    ridge: float = 1.0
    threshold_c: float = 0.003
    device: str = "cpu"
    limit: int | None = None
    seed: int = 0
    algorithms: tuple[str, ...] = ALGORITHMS


@dataclass
class TrainingData:
    table: PerformanceTable
    features: np.ndarray
    utility: np.ndarray
    best: np.ndarray
    """Per query, the index of the highest-utility model."""
    criticality: np.ndarray | None = field(default=None)
    """(queries, 2) judged mission and time criticality, when every query has them."""


def efficiency(cost: np.ndarray) -> np.ndarray:
    """1 - cost / the query's highest cost, per (query, model); 1 where every model is free."""
    top = cost.max(axis=1, keepdims=True)
    return np.where(top > 0, 1.0 - cost / np.where(top > 0, top, 1.0), 1.0)


def utility(table: PerformanceTable, quality_weight: float) -> np.ndarray:
    return quality_weight * table.performance + (1.0 - quality_weight) * efficiency(table.cost)


def criticality_of(path: Path, table: PerformanceTable) -> np.ndarray | None:
    """Judged (MC, TC) per query from the raw JSONL (BenchmarkRecord drops extra fields), or None."""
    found: dict[str, tuple[float, float]] = {}
    with path.open(encoding="utf-8") as lines:
        for line in filter(str.strip, lines):
            row = json.loads(line)
            if all(isinstance(row.get(k), int | float) for k in CRITICALITY_FIELDS):
                found[row.get("query_id") or row["query"]] = (row["mission_criticality"], row["time_criticality"])
    if not all(q in found for q in table.query_ids):
        return None
    return np.array([found[q] for q in table.query_ids], dtype=float)


def training_data(
    records: Sequence[BenchmarkRecord], featurize: Featurize, settings: TrainSettings, source: Path | None = None
) -> TrainingData:
    """The train split as arrays; `limit` keeps a seeded random subset of queries."""
    table = performance_table(records, "train")
    rows = np.arange(len(table.query_ids))
    if settings.limit is not None and settings.limit < len(rows):
        rows = np.sort(np.random.default_rng(settings.seed).choice(rows, settings.limit, replace=False))
        table = PerformanceTable(
            tuple(table.query_ids[i] for i in rows), tuple(table.queries[i] for i in rows),
            tuple(table.categories[i] for i in rows), table.models,
            table.performance[rows], table.cost[rows], table.latency[rows],
        )
    u = utility(table, settings.quality_weight)
    crit = criticality_of(source, table) if source is not None else None
    return TrainingData(table, featurize(list(table.queries)), u, np.argmax(u, axis=1), crit)


def _meta(algorithm: str, data: TrainingData, settings: TrainSettings, **extra: object) -> ArtifactMeta:
    info = {"train_queries": len(data.table.query_ids), "feature_dim": int(data.features.shape[1]),
            "domain": bool(np.any(data.features[:, -DOMAIN_DIMS:])), "quality_weight": settings.quality_weight,
            "seed": settings.seed, **extra}
    return ArtifactMeta.create(algorithm, data.table.models, info)


def principal_components(x: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (features, k) basis of the top principal components, with a fixed sign per component."""
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    basis = vt[: min(components, vt.shape[0])].T
    basis *= np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(basis.shape[1])])
    return mean.astype(np.float32), basis.astype(np.float32)


def train_knn(data: TrainingData, settings: TrainSettings) -> KnnScorer:
    mean, basis = principal_components(data.features, settings.components)
    meta = _meta("knn", data, settings, k=settings.knn_k, components=basis.shape[1])
    points = project(data.features, mean, basis)
    return KnnScorer(meta, mean, basis, points, data.utility.astype(np.float32), settings.knn_k)


def train_kmeans(data: TrainingData, settings: TrainSettings) -> KmeansScorer:
    from sklearn.cluster import KMeans

    k = min(settings.kmeans_clusters, len(data.features))
    fitted = KMeans(n_clusters=k, random_state=settings.seed, n_init=4).fit(data.features)
    labels = fitted.labels_
    quality = np.stack([data.table.performance[labels == c].mean(axis=0) for c in range(k)])
    cost = np.stack([data.table.cost[labels == c].mean(axis=0) for c in range(k)])
    meta = _meta("kmeans", data, settings, num_clusters=k)
    return KmeansScorer(meta, fitted.cluster_centers_.astype(np.float32), quality, efficiency(cost))


def train_svm(data: TrainingData, settings: TrainSettings) -> SvmScorer:
    from sklearn.svm import SVC

    mean, basis = principal_components(data.features, settings.components)
    z = (data.features - mean) @ basis
    gamma = settings.svm_gamma or 1.0 / (z.shape[1] * float(z.var()))
    support, coef, intercept = [], [], []
    binary = len(data.table.models) == 2  # one machine; the other model's decision is its negation
    for j in range(1 if binary else len(data.table.models)):
        labels = (data.best == j).astype(int)
        if labels.min() == labels.max():  # always or never the best: a constant decision
            support.append(np.zeros((1 if settings.svm_kernel == "linear" else 0, z.shape[1]), np.float32))
            coef.append(np.zeros(1 if settings.svm_kernel == "linear" else 0, np.float32))
            intercept.append(1.0 if labels[0] else -1.0)
            continue
        svc = SVC(kernel=settings.svm_kernel, gamma=gamma, C=settings.svm_c, class_weight="balanced")
        svc.fit(z, labels)
        # sklearn's decision function is positive for classes_[1] (label 1, "is the best")
        if settings.svm_kernel == "linear":
            support.append(svc.coef_.astype(np.float32).reshape(1, -1))
            coef.append(np.ones(1, np.float32))
        else:
            support.append(svc.support_vectors_.astype(np.float32))
            coef.append(svc.dual_coef_[0].astype(np.float32))
        intercept.append(float(svc.intercept_[0]))
    if binary:
        intercept.append(-intercept[0])
    meta = _meta("svm", data, settings, kernel=settings.svm_kernel, gamma=gamma, C=settings.svm_c,
                 components=basis.shape[1], binary=binary)
    return SvmScorer(meta, mean, basis, support, coef, np.array(intercept, np.float32))


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge weights with an unpenalised intercept as the last row."""
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - ym))
    return np.vstack([w, (ym - xm @ w)[None, ...]] if w.ndim == 2 else [w[:, None], np.atleast_2d(ym - xm @ w)])


def train_qos(data: TrainingData, settings: TrainSettings) -> QosScorer:
    x = data.features.astype(np.float64)
    quality = _ridge(x, 100.0 * data.table.performance, settings.ridge)
    latency = _ridge(x, data.table.latency, settings.ridge)
    if data.criticality is not None:
        mc, tc = (_ridge(x, data.criticality[:, i], settings.ridge)[:, 0] for i in (0, 1))
        source = "judged"
    else:
        mc = tc = np.zeros(x.shape[1] + 1)
        source = "constant"
    meta = _meta("qos", data, settings, criticality=source, ridge=settings.ridge)
    f32 = np.float32
    return QosScorer(meta, quality.astype(f32), latency.astype(f32), mc.astype(f32), tc.astype(f32))


def train_profile(data: TrainingData, settings: TrainSettings, records: Sequence[BenchmarkRecord]) -> ProfileArtifact:
    train_ids = set(data.table.query_ids)
    completions = {m: [r.completion_tokens for r in records if r.model_name == m and r.query_id in train_ids]
                   for m in data.table.models}
    profiles = {
        m: ModelProfile(
            quality=float(data.table.performance[:, j].mean()),
            latency_s=float(data.table.latency[:, j].mean()),
            completion_tokens=float(np.mean(completions[m])),
        )
        for j, m in enumerate(data.table.models)
    }
    return ProfileArtifact(_meta("multi_factor", data, settings), profiles)


def strong_and_weak(table: PerformanceTable) -> tuple[int, int]:
    """Indices of the models with the higher and the lower mean performance (two models only)."""
    if len(table.models) != 2:
        raise ValueError(f"the threshold router needs exactly two models, got {len(table.models)}")
    means = table.performance.mean(axis=0)
    return (0, 1) if means[0] >= means[1] else (1, 0)


def train_threshold(data: TrainingData, settings: TrainSettings) -> ThresholdScorer:
    from sklearn.linear_model import LogisticRegression

    s, w = strong_and_weak(data.table)
    wins = (data.table.performance[:, s] > data.table.performance[:, w]).astype(int)
    mean, std = data.features.mean(axis=0), data.features.std(axis=0) + 1e-6
    fitted = LogisticRegression(C=settings.threshold_c, max_iter=2000).fit((data.features - mean) / std, wins)
    weights = (fitted.coef_[0] / std).astype(np.float32)
    bias = float(fitted.intercept_[0] - (mean / std) @ fitted.coef_[0])
    models = data.table.models
    meta = _meta("threshold", data, settings, strong=models[s], weak=models[w], C=settings.threshold_c)
    scorer = ThresholdScorer(meta, weights, bias, np.zeros(0))
    scorer.reference = np.sort(scorer.strong_win(data.features)).astype(np.float32)
    return scorer


def train_selectors(
    records: Sequence[BenchmarkRecord],
    out_dir: Path,
    featurize: Featurize,
    settings: TrainSettings = TrainSettings(),
    source: Path | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """Train `settings.algorithms` on the train split and write their artifacts to `out_dir`."""
    from tqdm import tqdm

    from llmswitch.training.mlp import train_mlp

    data = training_data(records, featurize, settings, source)
    trainers: dict[str, Callable[[], object]] = {
        "knn": lambda: train_knn(data, settings),
        "kmeans": lambda: train_kmeans(data, settings),
        "svm": lambda: train_svm(data, settings),
        "mlp": lambda: train_mlp(data, settings, _meta("mlp", data, settings, hidden_dims=list(settings.mlp_hidden_dims),
                                                        dropout=settings.mlp_dropout, epochs=settings.mlp_epochs,
                                                        lr=settings.mlp_lr)),
        "qos": lambda: train_qos(data, settings),
        "multi_factor": lambda: train_profile(data, settings, records),
        "threshold": lambda: train_threshold(data, settings),
    }
    written = {}
    for name in tqdm(settings.algorithms, desc="training", unit="selector", disable=not progress):
        if name == "threshold" and len(data.table.models) != 2:
            continue
        path = out_dir / ARTIFACT_FILES[name]
        artifact = trainers[name]()
        if name == "mlp":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact)  # type: ignore[arg-type]
        else:
            artifact.save(path)  # type: ignore[attr-defined]
        written[name] = path
    return written


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainSettings()
    parser.add_argument("--data", type=Path, required=True, help="Benchmark JSONL (training/benchmark.py format).")
    parser.add_argument("--out", type=Path, required=True, help="Folder for the artifacts.")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS), help="Comma-separated subset to train.")
    parser.add_argument("--knn-k", type=int, default=d.knn_k)
    parser.add_argument("--kmeans-clusters", type=int, default=d.kmeans_clusters)
    parser.add_argument("--svm-kernel", choices=("rbf", "linear"), default=d.svm_kernel)
    parser.add_argument("--svm-gamma", type=float, default=None, help="RBF width (default: 1 / (features * variance)).")
    parser.add_argument("--mlp-hidden-dims", type=_dims, default=d.mlp_hidden_dims, help="e.g. 256,128")
    parser.add_argument("--mlp-dropout", type=float, default=d.mlp_dropout)
    parser.add_argument("--mlp-epochs", type=int, default=d.mlp_epochs)
    parser.add_argument("--mlp-lr", type=float, default=d.mlp_lr)
    parser.add_argument("--quality-weight", type=float, default=d.quality_weight,
                        help="Utility = w * quality + (1 - w) * efficiency (1 - cost / max cost).")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=d.device, help="Where the MLP trains.")
    parser.add_argument("--limit", type=int, default=None, help="Train on at most this many queries (seeded sample).")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--cache-dir", type=Path, default=None, help="Embedding cache (default: the user cache).")
    parser.add_argument("--domain", choices=("auto", "on", "off"), default="auto",
                        help="Domain one-hot features: auto uses the classifier when its head is installed.")


def domain_flag(value: str) -> bool | None:
    return {"auto": None, "on": True, "off": False}[value]


def settings_from(args: argparse.Namespace) -> TrainSettings:
    algorithms = tuple(a.strip() for a in args.algorithms.split(",") if a.strip())
    unknown = set(algorithms) - set(ALGORITHMS)
    if unknown:
        raise ValueError(f"unknown algorithms {sorted(unknown)}; expected some of {ALGORITHMS}")
    return TrainSettings(
        knn_k=args.knn_k, kmeans_clusters=args.kmeans_clusters, svm_kernel=args.svm_kernel, svm_gamma=args.svm_gamma,
        mlp_hidden_dims=tuple(args.mlp_hidden_dims), mlp_dropout=args.mlp_dropout, mlp_epochs=args.mlp_epochs,
        mlp_lr=args.mlp_lr, quality_weight=args.quality_weight, device=args.device, limit=args.limit, seed=args.seed,
        algorithms=algorithms,
    )


def run(args: argparse.Namespace) -> int:
    from llmswitch.training.features import feature_lookup

    settings = settings_from(args)
    records = read_records(args.data)
    featurize = feature_lookup([r.query for r in records], args.cache_dir, with_domain=domain_flag(args.domain))
    written = train_selectors(records, args.out, featurize, settings, source=args.data, progress=True)
    print(json.dumps({"settings": asdict(settings), "artifacts": {k: str(v) for k, v in written.items()}}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    return module_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
