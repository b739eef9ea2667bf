"""Signals: named facts about a request that decision rules test.

Each signal is evaluated lazily, at most once per request, and only when a rule that is
being evaluated asks for it.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from llmswitch.config.schema import SIGNAL_SECTIONS, Config
from llmswitch.request import RouteRequest
from llmswitch.signals.base import Signal, SignalResult
from llmswitch.signals.context import ContextLength
from llmswitch.signals.domain import DomainMatcher
from llmswitch.signals.embedding import EmbeddingSimilarity
from llmswitch.signals.header import HeaderMatcher
from llmswitch.signals.keyword import KeywordMatcher

if TYPE_CHECKING:
    from llmswitch.semantics import SemanticEngine

SignalKey = tuple[str, str]


def _build(signal_type: str, spec: Any, engine: SemanticEngine | None) -> Signal:
    if signal_type == "keyword":
        return KeywordMatcher(spec)
    if signal_type == "context":
        return ContextLength(spec)
    if signal_type == "header":
        return HeaderMatcher(spec)
    assert engine is not None, "semantic signals need the semantic engine"
    if signal_type == "domain":
        return DomainMatcher(spec, tuple(engine.categories))
    return EmbeddingSimilarity(spec, engine.embed(list(spec.candidates)))


class SignalSet:
    """The configured signals that some decision tests, addressable by (type, name)."""

    def __init__(self, config: Config, engine: SemanticEngine | None = None) -> None:
        wanted = config.referenced_signals()
        self._signals: dict[SignalKey, Signal] = {}
        for signal_type, section in SIGNAL_SECTIONS.items():
            for spec in getattr(config.signals, section):
                if (signal_type, spec.name) in wanted:
                    self._signals[(signal_type, spec.name)] = _build(signal_type, spec, engine)

    def evaluator(self, request: RouteRequest) -> SignalEvaluation:
        return SignalEvaluation(self._signals, request)


class SignalEvaluation:
    """The signal results of one request, computed on first use and timed per signal type."""

    def __init__(self, signals: dict[SignalKey, Signal], request: RouteRequest) -> None:
        self._signals = signals
        self._request = request
        self.results: dict[SignalKey, SignalResult] = {}
        # signal type -> (perf_counter_ns of its first evaluation, total ns spent evaluating it)
        self.timings: dict[str, tuple[int, int]] = {}

    def result(self, key: SignalKey) -> SignalResult:
        result = self.results.get(key)
        if result is None:
            started = perf_counter_ns()
            result = self.results[key] = self._signals[key].evaluate(self._request)
            first, total = self.timings.get(key[0], (started, 0))
            self.timings[key[0]] = (first, total + perf_counter_ns() - started)
        return result

    def matched(self) -> list[tuple[str, str, float]]:
        return [(t, n, r.confidence) for (t, n), r in self.results.items() if r.matched]


__all__ = ["SignalEvaluation", "SignalResult", "SignalSet"]
