"""`domain` signal: the domain classifier's probability for a category (or a group of them)."""

from __future__ import annotations

from llmswitch.config.signals import DomainSignal
from llmswitch.request import RouteRequest
from llmswitch.signals.base import SignalResult


class DomainMatcher:
    type = "domain"

    def __init__(self, spec: DomainSignal, categories: tuple[str, ...]) -> None:
        self.name = spec.name
        self._indices = [categories.index(c) for c in spec.domain_categories]
        self._threshold = spec.threshold

    def evaluate(self, request: RouteRequest) -> SignalResult:
        probabilities = request.require_semantics().domain_probabilities
        confidence = float(probabilities[self._indices].sum()) if probabilities is not None else 0.0
        return SignalResult(confidence >= self._threshold, confidence)
