"""`kmeans`: the query's nearest cluster sends it to that cluster's best model.

Each cluster keeps every model's mean quality and efficiency (1 - mean cost / the cluster's
highest mean cost) on its training queries; the score is
(1 - efficiency_weight) * quality + efficiency_weight * efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import KmeansAlgorithm
from llmswitch.selection.artifact import ArtifactError, ArtifactMeta, config_error, load_checked, load_npz, save_npz
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.learned import ScoredSelector

ALGORITHM = "kmeans"


@dataclass
class KmeansScorer:
    meta: ArtifactMeta
    centers: np.ndarray
    """(clusters, features)"""
    quality: np.ndarray
    """(clusters, models)"""
    efficiency: np.ndarray
    """(clusters, models) in [0, 1]"""
    efficiency_weight: float = 0.1

    @property
    def models(self) -> tuple[str, ...]:
        return self.meta.models

    def clusters(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, np.float32)
        distances = (self.centers**2).sum(axis=1)[None, :] - 2.0 * x @ self.centers.T
        return np.argmin(distances, axis=1)

    def scores(self, features: np.ndarray) -> np.ndarray:
        c = self.clusters(features)
        w = self.efficiency_weight
        return (1.0 - w) * self.quality[c] + w * self.efficiency[c]

    def save(self, path: Path) -> Path:
        return save_npz(path, self.meta, {"centers": self.centers, "quality": self.quality,
                                          "efficiency": self.efficiency})

    @classmethod
    def load(cls, path: Path, efficiency_weight: float = 0.1) -> KmeansScorer:
        meta, a = load_npz(path, ALGORITHM)
        try:
            return cls(meta, a["centers"].astype(np.float32), a["quality"], a["efficiency"], efficiency_weight)
        except KeyError as exc:
            raise ArtifactError(f"{path} lacks array {exc}") from None


class KmeansSelector(ScoredSelector):
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, KmeansAlgorithm)
        weight = params.kmeans.efficiency_weight
        scorer = load_checked(context, "kmeans", params.kmeans.artifact, lambda path: KmeansScorer.load(path, weight))
        wanted = params.kmeans.num_clusters
        if wanted is not None and wanted != len(scorer.centers):
            raise config_error(
                context,
                "kmeans.num_clusters",
                f"{wanted} clusters asked, the artifact has {len(scorer.centers)}; "
                f"retrain with `llmswitch train selectors --kmeans-clusters {wanted}`",
            )
        super().__init__(scorer)
