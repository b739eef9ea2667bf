"""The shared shape of learned selectors: a scorer gives every model a score, the best one wins.

Training may calibrate an operating point (`llmswitch.training.calibrate`): a per-model offset,
stored in the artifact's settings, that is added to the scores before the argmax.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from llmswitch.request import RouteRequest
from llmswitch.selection.artifact import ArtifactMeta
from llmswitch.selection.base import Selection
from llmswitch.selection.features import request_features


class Scorer(Protocol):
    meta: ArtifactMeta
    models: tuple[str, ...]
    """Model names in score-column order."""

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(n, features) -> (n, models); higher is better."""


def trained_with_domain(meta: ArtifactMeta) -> bool:
    """Whether the artifact's training features carried the domain one-hot."""
    return bool(meta.settings.get("domain", True))


def operating_offset(meta: ArtifactMeta) -> np.ndarray:
    """(models,) offset of the artifact's calibrated operating point; zeros when it has none."""
    offset = (meta.settings.get("operating_point") or {}).get("offset")
    return np.asarray(offset, np.float64) if offset else np.zeros(len(meta.models))


def calibrated_scores(scorer: Scorer, features: np.ndarray) -> np.ndarray:
    """(n, models) scores at the artifact's operating point: the argmax is the routing choice."""
    return scorer.scores(features) + operating_offset(scorer.meta)


class ScoredSelector:
    """Picks the model with the highest score; `model_scores` lets a wrapper restrict the choice."""

    algorithm: str

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.models = scorer.models
        self._with_domain = trained_with_domain(scorer.meta)
        self._offset = operating_offset(scorer.meta)

    def score_request(self, request: RouteRequest) -> np.ndarray:
        """(models,) scores of one request at the operating point; raises SemanticsRequired until semantics exist."""
        return self.scorer.scores(request_features(request, self._with_domain)[None, :])[0] + self._offset

    def model_scores(self, request: RouteRequest) -> dict[str, float]:
        return dict(zip(self.models, self.score_request(request).tolist(), strict=True))

    def select(self, request: RouteRequest) -> Selection:
        scores = self.score_request(request)
        best = int(np.argmax(scores))
        return Selection(
            self.models[best],
            f"{self.algorithm}: highest score {scores[best]:.3f}",
            {"score": float(scores[best])},
        )
