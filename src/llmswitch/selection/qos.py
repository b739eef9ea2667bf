"""`qos`: the highest predicted QoS = (1 + MC/10)·Q/100 + (1 + TC/10)·1/L.

Four ridge regressors on the prompt features: Q (quality 0-100) and L (latency, s) per model,
MC (mission criticality 0-10) and TC (time criticality 0-10) per prompt. Where the profiling
data has no criticality judgments, training stores MC = TC = 0 (recorded in the artifact's
settings as `criticality: "constant"`), which reduces QoS to Q/100 + 1/L.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import QosAlgorithm
from llmswitch.selection.artifact import ArtifactError, ArtifactMeta, load_checked, load_npz, save_npz
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.learned import ScoredSelector

ALGORITHM = "qos"
MIN_LATENCY_S = 0.05


def qos(quality: np.ndarray, latency: np.ndarray, mc: np.ndarray, tc: np.ndarray) -> np.ndarray:
    """QoS per (prompt, model) from (n, m) quality 0-100 and latency (s), and (n,) MC and TC 0-10."""
    return (1.0 + mc[:, None] / 10.0) * quality / 100.0 + (1.0 + tc[:, None] / 10.0) / latency


@dataclass
class QosScorer:
    meta: ArtifactMeta
    quality: np.ndarray
    """(features + 1, models): last row is the intercept; likewise below."""
    latency: np.ndarray
    mc: np.ndarray
    """(features + 1,)"""
    tc: np.ndarray

    @property
    def models(self) -> tuple[str, ...]:
        return self.meta.models

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Predicted Q (n, m), L (n, m), MC (n,) and TC (n,), clipped to their ranges."""
        x = np.hstack([np.asarray(features, np.float32), np.ones((len(features), 1), np.float32)])
        return (
            np.clip(x @ self.quality, 0.0, 100.0),
            np.maximum(x @ self.latency, MIN_LATENCY_S),
            np.clip(x @ self.mc, 0.0, 10.0),
            np.clip(x @ self.tc, 0.0, 10.0),
        )

    def scores(self, features: np.ndarray) -> np.ndarray:
        return qos(*self.predict(features))

    def save(self, path: Path) -> Path:
        return save_npz(path, self.meta, {"quality": self.quality, "latency": self.latency, "mc": self.mc,
                                          "tc": self.tc})

    @classmethod
    def load(cls, path: Path) -> QosScorer:
        meta, a = load_npz(path, ALGORITHM)
        try:
            return cls(meta, a["quality"], a["latency"], a["mc"], a["tc"])
        except KeyError as exc:
            raise ArtifactError(f"{path} lacks array {exc}") from None


class QosSelector(ScoredSelector):
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, QosAlgorithm)
        scorer = load_checked(context, "qos", params.qos.artifact, QosScorer.load)
        super().__init__(scorer)
