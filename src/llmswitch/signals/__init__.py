"""Signals: named facts about a request that decision rules test.

Each signal is evaluated lazily, at most once per request, and only when a rule that is
being evaluated asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from llmswitch.config import ConfigError
from llmswitch.config.schema import Config
from llmswitch.config.signals import SIGNAL_SECTIONS, ClassifierSignal
from llmswitch.request import RouteRequest, SemanticsUnavailable
from llmswitch.signals.base import NOT_MATCHED, Signal, SignalResult
from llmswitch.signals.classifier import ClassifierLabel
from llmswitch.signals.complexity import ComplexityLevel, level_centroids, shipped_examples
from llmswitch.signals.context import ContextLength
from llmswitch.signals.domain import DomainMatcher
from llmswitch.signals.embedding import EmbeddingSimilarity
from llmswitch.signals.header import HeaderMatcher
from llmswitch.signals.jailbreak import JailbreakDetector
from llmswitch.signals.keyword import KeywordMatcher
from llmswitch.signals.pii import PiiDetector

if TYPE_CHECKING:
    from llmswitch.semantics import ClassifierSet, SemanticEngine
    from llmswitch.signals.language import LanguageDetector

SignalKey = tuple[str, str]


def _build(signal_type: str, spec: Any, engine: SemanticEngine | None, languages: LanguageDetector | None) -> Signal:
    if signal_type == "keyword":
        return KeywordMatcher(spec)
    if signal_type == "context":
        return ContextLength(spec)
    if signal_type == "header":
        return HeaderMatcher(spec)
    if signal_type == "pii":
        return PiiDetector(spec)
    if signal_type == "jailbreak" and spec.method == "rules":
        return JailbreakDetector(spec)
    if signal_type == "language":
        from llmswitch.signals.language import LanguageMatcher

        assert languages is not None, "language signals need the language detector"
        return LanguageMatcher(spec, languages)
    assert engine is not None, "semantic signals need the semantic engine"
    if signal_type == "jailbreak":
        if engine.jailbreak is None:
            raise ConfigError("<config>", [f"signals.jailbreak: {spec.name!r} uses the trained head, which needs the default encoder; use method: rules"])
        return JailbreakDetector(spec)
    if signal_type == "domain":
        return DomainMatcher(spec, tuple(engine.categories))
    if signal_type == "complexity":
        return ComplexityLevel(spec, level_centroids(spec.examples or shipped_examples(), engine.embed))
    return EmbeddingSimilarity(spec, engine.embed(list(spec.candidates)))


def _language_detector(config: Config, wanted: set[SignalKey]) -> LanguageDetector | None:
    """One detector for all the language signals decisions test (lingua loads only if there are any)."""
    codes = [c for s in config.signals.language if ("language", s.name) in wanted for c in s.languages]
    if not codes:
        return None
    from llmswitch.signals.language import LanguageDetector

    return LanguageDetector(codes)


def _classifier_labels(config: Config) -> Iterator[tuple[int, ClassifierSignal, str]]:
    """(index in signals.classifiers, spec, label) for every label some condition tests."""
    tested = {(c.name, c.label) for c in config.conditions() if c.type == "classifier"}
    for index, spec in enumerate(config.signals.classifiers):
        for label in sorted(label for name, label in tested if name == spec.name and label is not None):
            yield index, spec, label


class SignalSet:
    """The configured signals that some decision tests, addressable by (type, name).

    A classifier condition's label is part of its name (`tier=large`, see `Condition.key`).
    """

    def __init__(self, config: Config, engine: SemanticEngine | None = None) -> None:
        wanted = config.referenced_signals()
        languages = _language_detector(config, wanted)
        self._signals: dict[SignalKey, Signal] = {}
        for signal_type, section in SIGNAL_SECTIONS.items():
            if signal_type == "classifier":
                continue
            for spec in getattr(config.signals, section):
                if (signal_type, spec.name) in wanted:
                    self._signals[(signal_type, spec.name)] = _build(signal_type, spec, engine, languages)
        # Held so the engine keeps running these classifiers for as long as this config serves.
        self._classifiers = self._build_classifiers(config, engine)

    def _build_classifiers(self, config: Config, engine: SemanticEngine | None) -> ClassifierSet | None:
        """One ONNX model per tested classifier, one signal per tested label; the engine runs the models."""
        models = {}
        for index, spec, label in _classifier_labels(config):
            assert engine is not None, "classifier signals need the semantic engine"
            if spec.name not in models:
                try:
                    models[spec.name] = engine.load_classifier(spec.path)
                except (OSError, ValueError, KeyError) as exc:
                    raise ConfigError("<config>", [f"signals.classifiers[{index}].model_dir: {exc}"]) from None
            signal = ClassifierLabel(spec, label, models[spec.name])
            self._signals[(signal.type, signal.name)] = signal
        return engine.use_classifiers(list(models.values())) if models else None

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
            try:
                result = self._signals[key].evaluate(self._request)
            except SemanticsUnavailable:  # the encoder is overloaded: semantic signals do not match
                result = NOT_MATCHED
            self.results[key] = result
            first, total = self.timings.get(key[0], (started, 0))
            self.timings[key[0]] = (first, total + perf_counter_ns() - started)
        return result

    def matched(self) -> list[tuple[str, str, float]]:
        return [(t, n, r.confidence) for (t, n), r in self.results.items() if r.matched]


__all__ = ["SignalEvaluation", "SignalResult", "SignalSet"]
