"""`knn`: quality-weighted voting among the k nearest training queries.

The artifact holds the training queries' features, projected to a few principal components and
unit-normalised (cosine similarity is one small matrix product), and each query's utility per
model (quality traded against cost at training time). Each neighbour votes its utilities,
weighted by its similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import KnnAlgorithm
from llmswitch.selection.artifact import ArtifactError, ArtifactMeta, load_checked, load_npz, save_npz
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.learned import ScoredSelector

ALGORITHM = "knn"


def project(features: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Centre, project onto the principal components and unit-normalise rows."""
    z = (np.asarray(features, np.float32) - mean) @ basis
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


@dataclass
class KnnScorer:
    meta: ArtifactMeta
    mean: np.ndarray
    basis: np.ndarray
    points: np.ndarray
    """(queries, components) unit rows."""
    utility: np.ndarray
    """(queries, models)"""
    k: int = 100

    @property
    def models(self) -> tuple[str, ...]:
        return self.meta.models

    def scores(self, features: np.ndarray) -> np.ndarray:
        sims = project(features, self.mean, self.basis) @ self.points.T
        k = min(self.k, self.points.shape[0])
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 0.0) + 1e-6
        votes = np.einsum("nk,nkm->nm", weights, self.utility[nearest])
        return votes / weights.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> Path:
        arrays = {"mean": self.mean, "basis": self.basis, "points": self.points.astype(np.float16),
                  "utility": self.utility.astype(np.float16)}
        return save_npz(path, self.meta, arrays)

    @classmethod
    def load(cls, path: Path, k: int = 100) -> KnnScorer:
        meta, a = load_npz(path, ALGORITHM)
        try:
            return cls(meta, a["mean"].astype(np.float32), a["basis"].astype(np.float32),
                       a["points"].astype(np.float32), a["utility"].astype(np.float32), k)
        except KeyError as exc:
            raise ArtifactError(f"{path} lacks array {exc}") from None


class KnnSelector(ScoredSelector):
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, KnnAlgorithm)
        scorer = load_checked(context, "knn", params.knn.artifact, lambda path: KnnScorer.load(path, params.knn.k))
        super().__init__(scorer)
