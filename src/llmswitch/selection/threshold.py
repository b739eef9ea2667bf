"""`threshold`: a two-model router in the style of RouteLLM.

A logistic regression on the prompt features predicts P(strong model wins). The strong model
answers when that probability is at least a threshold, calibrated at load time so that a share
`strong_share` of the artifact's reference prompts (the training split) would go to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import ThresholdAlgorithm
from llmswitch.request import RouteRequest
from llmswitch.selection.artifact import (
    ArtifactError,
    ArtifactMeta,
    check_models,
    config_error,
    load_npz,
    require_artifact,
    save_npz,
)
from llmswitch.selection.base import Selection, SelectorContext
from llmswitch.selection.features import request_features
from llmswitch.selection.learned import trained_with_domain

ALGORITHM = "threshold"


@dataclass
class ThresholdScorer:
    meta: ArtifactMeta
    weights: np.ndarray
    bias: float
    reference: np.ndarray
    """Sorted P(strong wins) of the reference prompts."""

    @property
    def strong(self) -> str:
        return str(self.meta.settings["strong"])

    @property
    def weak(self) -> str:
        return str(self.meta.settings["weak"])

    def strong_win(self, features: np.ndarray) -> np.ndarray:
        """(n,) predicted P(strong wins)."""
        logits = np.asarray(features, np.float32) @ self.weights + self.bias
        return np.exp(-np.logaddexp(0.0, -logits))  # sigmoid without overflow

    def threshold_for(self, strong_share: float) -> float:
        """The probability above which `strong_share` of the reference prompts lie."""
        if strong_share <= 0:
            return float("inf")
        return float(np.quantile(self.reference, 1.0 - strong_share, method="higher"))

    def save(self, path: Path) -> Path:
        arrays = {"weights": self.weights, "bias": np.array([self.bias]), "reference": self.reference}
        return save_npz(path, self.meta, arrays)

    @classmethod
    def load(cls, path: Path) -> ThresholdScorer:
        meta, a = load_npz(path, ALGORITHM)
        try:
            return cls(meta, a["weights"].astype(np.float32), float(a["bias"][0]), np.sort(a["reference"]))
        except KeyError as exc:
            raise ArtifactError(f"{path} lacks array {exc}") from None


class ThresholdSelector:
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, ThresholdAlgorithm)
        try:
            self.scorer = ThresholdScorer.load(require_artifact(context, "threshold", params.threshold.artifact))
        except ArtifactError as exc:
            raise config_error(context, "threshold.artifact", str(exc)) from None
        check_models(context, self.scorer.meta, "threshold.artifact")
        self.threshold = self.scorer.threshold_for(params.threshold.strong_share)
        self._with_domain = trained_with_domain(self.scorer.meta)

    def strong_win(self, request: RouteRequest) -> float:
        return float(self.scorer.strong_win(request_features(request, self._with_domain)[None, :])[0])

    def model_scores(self, request: RouteRequest) -> dict[str, float]:
        return {self.scorer.strong: self.strong_win(request), self.scorer.weak: self.threshold}

    def select(self, request: RouteRequest) -> Selection:
        p = self.strong_win(request)
        model = self.scorer.strong if p >= self.threshold else self.scorer.weak
        return Selection(
            model,
            f"threshold: P(strong wins) {p:.3f} vs threshold {self.threshold:.3f}",
            {"strong_win_probability": p, "threshold": self.threshold},
        )
