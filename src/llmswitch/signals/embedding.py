"""`embedding` signal: cosine similarity between the prompt and example phrases.

The phrases are embedded once, when the config is loaded (and again on every reload).
"""

from __future__ import annotations

import numpy as np

from llmswitch.config.signals import EmbeddingSignal
from llmswitch.request import RouteRequest
from llmswitch.signals.base import SignalResult


class EmbeddingSimilarity:
    type = "embedding"

    def __init__(self, spec: EmbeddingSignal, candidate_embeddings: np.ndarray) -> None:
        self.name = spec.name
        self._candidates = candidate_embeddings  # (n, d), unit length
        self._threshold = spec.threshold
        self._mean = spec.aggregation == "mean"

    def evaluate(self, request: RouteRequest) -> SignalResult:
        similarities = self._candidates @ request.require_semantics().embedding
        score = float(similarities.mean() if self._mean else similarities.max())
        return SignalResult(score >= self._threshold, score)
