"""`qos`: the highest predicted QoS = (1 + MC/10)·Q/100 + (1 + TC/10)·1/L.

Gradient-boosted regression trees on the prompt features (projected onto the training set's
principal components) predict Q (quality 0-100) and L (latency, s; trained on log-latency where
that fits the validation split better) per model, and MC (mission criticality 0-10) and TC
(time criticality 0-10) per prompt. Where the profiling data has no criticality judgments,
training stores MC = TC = 0 (`criticality: "constant"` in the artifact's settings), which reduces
QoS to Q/100 + 1/L; where it has no latency, the latency term is left out (`latency: "none"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import QosAlgorithm
from llmswitch.selection.artifact import ArtifactError, ArtifactMeta, load_checked, load_npz, save_npz
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.learned import ScoredSelector
from llmswitch.selection.trees import TreeEnsemble

ALGORITHM = "qos"
MIN_LATENCY_S = 0.05


def qos(quality: np.ndarray, latency: np.ndarray | None, mc: np.ndarray, tc: np.ndarray) -> np.ndarray:
    """QoS per (prompt, model) from (n, m) quality 0-100 and latency (s) or None, and (n,) MC and TC 0-10."""
    value = (1.0 + mc[:, None] / 10.0) * quality / 100.0
    return value if latency is None else value + (1.0 + tc[:, None] / 10.0) / latency


@dataclass
class QosScorer:
    meta: ArtifactMeta
    mean: np.ndarray
    basis: np.ndarray
    quality: list[TreeEnsemble]
    """One per model, in `models` order; predicts quality 0-100."""
    latency: list[TreeEnsemble] | None
    """One per model (seconds, or log-seconds when `latency_log`); None without latency data."""
    mc: TreeEnsemble | None
    """None: criticality constant 0."""
    tc: TreeEnsemble | None

    @property
    def models(self) -> tuple[str, ...]:
        return self.meta.models

    @property
    def latency_log(self) -> bool:
        return self.meta.settings.get("latency") == "log"

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Predicted Q (n, m), L (n, m) or None, MC (n,) and TC (n,), clipped to their ranges."""
        z = (np.asarray(features, np.float32) - self.mean) @ self.basis
        quality = np.clip(np.stack([t.predict(z) for t in self.quality], axis=1), 0.0, 100.0)
        latency = None
        if self.latency is not None:
            raw = np.stack([t.predict(z) for t in self.latency], axis=1)
            latency = np.maximum(np.exp(raw) if self.latency_log else raw, MIN_LATENCY_S)
        zeros = np.zeros(len(z))
        mc = np.clip(self.mc.predict(z), 0.0, 10.0) if self.mc is not None else zeros
        tc = np.clip(self.tc.predict(z), 0.0, 10.0) if self.tc is not None else zeros
        return quality, latency, mc, tc

    def scores(self, features: np.ndarray) -> np.ndarray:
        return qos(*self.predict(features))

    def save(self, path: Path) -> Path:
        arrays = {"mean": self.mean, "basis": self.basis}
        for j, trees in enumerate(self.quality):
            arrays |= trees.to_arrays(f"quality{j}")
        for j, trees in enumerate(self.latency or []):
            arrays |= trees.to_arrays(f"latency{j}")
        for name, trees in (("mc", self.mc), ("tc", self.tc)):
            if trees is not None:
                arrays |= trees.to_arrays(name)
        return save_npz(path, self.meta, arrays)

    @classmethod
    def load(cls, path: Path) -> QosScorer:
        meta, a = load_npz(path, ALGORITHM)
        m = range(len(meta.models))
        try:
            latency = None if meta.settings.get("latency") == "none" else [
                TreeEnsemble.from_arrays(a, f"latency{j}") for j in m]
            judged = meta.settings.get("criticality") == "judged"
            return cls(meta, a["mean"], a["basis"], [TreeEnsemble.from_arrays(a, f"quality{j}") for j in m], latency,
                       TreeEnsemble.from_arrays(a, "mc") if judged else None,
                       TreeEnsemble.from_arrays(a, "tc") if judged else None)
        except KeyError as exc:
            raise ArtifactError(f"{path} lacks array {exc} (an artifact from an older release? retrain it)") from None


class QosSelector(ScoredSelector):
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, QosAlgorithm)
        scorer = load_checked(context, "qos", params.qos.artifact, QosScorer.load)
        super().__init__(scorer)
