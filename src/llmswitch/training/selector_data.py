"""What selector training works on: settings, and the training split as arrays."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.metrics import PerformanceTable, performance_table
from llmswitch.training.split import DEFAULT_SPLIT, SplitSpec, split_bucket
from llmswitch.training.utility import UtilityWeights, utility

Featurize = Callable[[Sequence[str]], np.ndarray]
ALGORITHMS = ("knn", "kmeans", "svm", "mlp", "qos", "multi_factor", "threshold")
CRITICALITY_FIELDS = ("mission_criticality", "time_criticality")
VALIDATION_SEED_SALT = 1_000_003
MIN_VALIDATION_QUERIES = 20


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
    """At most this many epochs; with a validation split, early stopping picks the count."""
    mlp_lr: float = 1e-3
    weights: UtilityWeights = UtilityWeights()
    """Utility = quality · performance + cost · efficiency + latency · speed (see utility.py)."""
    components: int = 64
    """Principal components kept for knn, svm and qos."""
    threshold_c: float = 0.003
    device: str = "cpu"
    limit: int | None = None
    seed: int = 0
    algorithms: tuple[str, ...] = ALGORITHMS
    split: SplitSpec = DEFAULT_SPLIT
    """Which records are held out for `llmswitch eval`; `all_data` trains on every record."""
    all_data: bool = False
    val_share: float = 0.2
    """Share of the training split held back to calibrate the operating point and stop early."""
    operating_point: str = "utility"
    """utility | match-best | argmax (see calibrate.py)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["weights"], data["split"] = self.weights.to_dict(), self.split.to_dict()
        data["mlp_hidden_dims"], data["algorithms"] = list(self.mlp_hidden_dims), list(self.algorithms)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["weights"] = UtilityWeights(**known.get("weights", {}))
        known["split"] = SplitSpec.from_dict(known.get("split", {}))
        known["mlp_hidden_dims"] = tuple(known.get("mlp_hidden_dims", TrainSettings.mlp_hidden_dims))
        known["algorithms"] = tuple(known.get("algorithms", ALGORITHMS))
        return cls(**known)


@dataclass
class TrainingData:
    table: PerformanceTable
    features: np.ndarray
    utility: np.ndarray
    weights: UtilityWeights
    """The utility weights in force (terms without data dropped)."""
    criticality: np.ndarray | None = None
    """(queries, 2) judged mission and time criticality, when every query has them."""
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> np.ndarray:
        """Per query, the index of the highest-utility model."""
        return np.argmax(self.utility, axis=1)

    def subset(self, rows: np.ndarray) -> TrainingData:
        crit = self.criticality[rows] if self.criticality is not None else None
        return replace(self, table=self.table.subset(rows), features=self.features[rows],
                       utility=self.utility[rows], criticality=crit)

    def validation_rows(self, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
        """(fitting rows, validation rows): a seeded hash of each query's split key picks `val_share`."""
        key = settings.split.key
        texts = self.table.queries if key == "query" else self.table.query_ids
        bucket = np.array([split_bucket(t, settings.seed + VALIDATION_SEED_SALT) for t in texts])
        val = bucket < settings.val_share
        if val.sum() < MIN_VALIDATION_QUERIES or (~val).sum() < MIN_VALIDATION_QUERIES:
            return np.arange(len(texts)), np.zeros(0, np.intp)
        return np.flatnonzero(~val), np.flatnonzero(val)


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
    """The training split (every record with `all_data`) as arrays; `limit` keeps a seeded random subset."""
    table = performance_table(records, None if settings.all_data else "train", settings.split)
    if len(table.query_ids) == 0:
        raise ValueError("no training queries: the split left none")
    if settings.limit is not None and settings.limit < len(table.query_ids):
        rows = np.sort(np.random.default_rng(settings.seed).choice(len(table.query_ids), settings.limit, replace=False))
        table = table.subset(rows)
    weights, notes = settings.weights.usable(table)
    crit = criticality_of(source, table) if source is not None else None
    return TrainingData(table, featurize(list(table.queries)), utility(table, weights), weights, crit, notes)
