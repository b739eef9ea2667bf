"""`classifier` signal: a trained text classifier's probability for one label.

The classifier runs in the semantic engine's micro-batched pass (see `SemanticEngine`), so
its probabilities arrive with the prompt's embedding, computed off the event loop.
"""

from __future__ import annotations

from llmswitch.config.signals import ClassifierSignal
from llmswitch.inference.classifier import OnnxClassifier
from llmswitch.request import RouteRequest
from llmswitch.signals.base import SignalResult


class ClassifierLabel:
    """One label of one classifier: a condition `{type: classifier, name, label}`."""

    type = "classifier"

    def __init__(self, spec: ClassifierSignal, label: str, model: OnnxClassifier) -> None:
        self.name = f"{spec.name}={label}"
        self._model = model
        self._index = model.labels.index(label)
        self._threshold = spec.threshold

    def evaluate(self, request: RouteRequest) -> SignalResult:
        probabilities = request.require_semantics().classifier_probabilities[self._model.key]
        confidence = float(probabilities[self._index])
        return SignalResult(confidence >= self._threshold, confidence)
