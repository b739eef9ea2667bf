"""The routing step: signals -> decision -> selector -> model health, giving a `RoutePlan`.

Synchronous and pure; a signal or selector that must wait (the prompt's semantics, an LLM call)
raises `SemanticsRequired` / `SelectionRequired`, and `route_async` does the waiting and routes again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING

from llmswitch.budget import BudgetGuard
from llmswitch.config import LoadedConfig
from llmswitch.config.decisions import Decision
from llmswitch.config.models import ModelConfig
from llmswitch.decisions import DecisionTable
from llmswitch.health import HealthTracker
from llmswitch.pipeline.ingress import ParsedRequest
from llmswitch.pipeline.plan import RoutePlan, RouteTimings
from llmswitch.protocols.errors import bad_request, model_not_found, rate_limited
from llmswitch.protocols.openai_chat import max_output_tokens
from llmswitch.request import Analyzer, RouteRequest, Semantics, SemanticsRequired, SemanticsUnavailable
from llmswitch.selection import Selection, SelectionRequired, SelectorContext, build_selector, is_async
from llmswitch.signals import SignalSet
from llmswitch.tokens import BYTES_PER_TOKEN

if TYPE_CHECKING:
    from llmswitch.telemetry.metrics import RouterMetrics

DEFAULT_DECISION = "default"
PASSTHROUGH_DECISION = "passthrough"


class DecisionRouter:
    """Chooses the model for one parsed request under one immutable config."""

    def __init__(
        self,
        loaded: LoadedConfig,
        health: HealthTracker,
        budget: BudgetGuard,
        analyzer: Analyzer | None,
        metrics: RouterMetrics | None,
    ) -> None:
        config = loaded.config
        self.config = config
        self.health = health
        self.analyzer = analyzer
        self.models = {m.name: m for m in config.models}
        self._auto = frozenset(config.routing.auto_models)
        self.signals = SignalSet(config, analyzer)
        self.decisions = DecisionTable(config.decisions)
        base_dir = Path(loaded.source).parent
        self._selectors = {
            d.name: build_selector(SelectorContext(config, d, i, loaded.source, base_dir, budget, metrics))
            for i, d in enumerate(config.decisions)
        }
        self._decisions_by_name = {d.name: d for d in config.decisions}
        self._default = self.models[config.default_model]
        self._fallbacks = [self.models[name] for name in config.routing.fallback_models]
        self._analysis_timeout = config.semantics.timeout_ms / 1000

    async def route_async(self, headers: Mapping[str, str], parsed: ParsedRequest, start: int) -> RoutePlan:
        """`route`, doing the waiting it asks for: the prompt's semantics (computed once, within
        `semantics.timeout_ms`) and asynchronous selectors. Each pass resolves one need."""
        semantics: Semantics | None = None
        timed_out = False
        analysis: tuple[int, int] | None = None
        selections: dict[str, Selection] = {}
        for _ in range(4):
            try:
                return self.route(headers, parsed, start, semantics, analysis, selections, timed_out)
            except SemanticsRequired as needed:
                semantics, timed_out, analysis = await self._analyze(needed.text)
            except SelectionRequired as needed:
                try:
                    selector = self._selectors[needed.decision]
                    selections[needed.decision] = await selector.select_async(needed.request)  # type: ignore[union-attr]
                except SemanticsRequired as inner:  # an async selector that reads features
                    semantics, timed_out, analysis = await self._analyze(inner.text)
                except SemanticsUnavailable:
                    selections[needed.decision] = self._without_semantics(needed.decision)
        raise RuntimeError("routing did not settle after semantics and one selection")

    async def _analyze(self, text: str) -> tuple[Semantics | None, bool, tuple[int, int]]:
        """(semantics, timed out, (start, duration)); an overloaded encoder must not stall routing."""
        if self.analyzer is None:
            raise RuntimeError("a signal or selector needs semantic analysis; none is configured")
        started = perf_counter_ns()
        try:
            semantics = await asyncio.wait_for(self.analyzer.analyze(text), self._analysis_timeout)
        except TimeoutError:
            return None, True, (started, perf_counter_ns() - started)
        return semantics, False, (started, perf_counter_ns() - started)

    def _without_semantics(self, decision: str) -> Selection:
        return Selection(self._decisions_by_name[decision].model_refs[0].model, "semantic analysis timed out: first modelRef")

    def route(
        self,
        headers: Mapping[str, str],
        parsed: ParsedRequest,
        start: int,
        semantics: Semantics | None = None,
        analysis: tuple[int, int] | None = None,
        selections: Mapping[str, Selection] | None = None,
        semantics_timed_out: bool = False,
    ) -> RoutePlan:
        """Plan one request; raises `RequestError` for anything a client must fix, and
        `SemanticsRequired` when `semantics` is needed but not given (see `route_async`)."""
        if analysis is not None:
            start = analysis[0]
        model = self.models.get(parsed.model)
        if model is not None:
            return self._passthrough(model, parsed, start)
        if parsed.model not in self._auto:
            raise model_not_found(parsed.model)
        if parsed.view is None or parsed.api is None:
            raise bad_request("unsupported_endpoint", "Automatic model routing is not available for this path.")
        request = RouteRequest(headers, parsed.view, semantics, semantics_timed_out)
        signals = self.signals.evaluator(request)
        if analysis is not None:
            signals.timings["semantics"] = analysis
        decided = perf_counter_ns()
        decision = self.decisions.first_match(signals)
        selected = perf_counter_ns()
        if decision is None:
            chosen, name, algorithm, reason = self._default, DEFAULT_DECISION, "default", "no decision matched"
        else:
            selection = self._select(decision.name, request, selections)
            chosen, name = self.models[selection.model], decision.name
            algorithm, reason = decision.algorithm.type, selection.reason
        if not self.health.is_healthy(chosen.name):
            chosen, reason = self._fallback(chosen, decision, reason)
        end = perf_counter_ns()
        return RoutePlan(
            chosen,
            name,
            algorithm,
            reason,
            tuple(signals.matched()),
            None,
            parsed.model,
            RouteTimings(start, end, (decided, selected), (selected, end), signals.timings),
            request.user_text,
            request.prompt_tokens,
            parsed.view.max_output_tokens,
            parsed.data,
            semantics_timed_out,
            parsed.api,
            request.semantics,
            memo=request.memo,
        )

    def _select(self, decision: str, request: RouteRequest, done: Mapping[str, Selection] | None) -> Selection:
        if done is not None and decision in done:
            return done[decision]
        selector = self._selectors[decision]
        try:
            if is_async(selector):
                raise SelectionRequired(decision, request)
            return selector.select(request)  # type: ignore[union-attr]
        except SemanticsUnavailable:
            return self._without_semantics(decision)

    def _fallback(self, chosen: ModelConfig, decision: Decision | None, reason: str) -> tuple[ModelConfig, str]:
        """The first healthy model along the decision's modelRefs, the fallback chain, then default_model."""
        refs = [self.models[r.model] for r in decision.model_refs] if decision is not None else []
        candidates = (*refs, *self._fallbacks, self._default)
        why = "rate-limited" if self.health.cooldowns.remaining(chosen.name) else "unhealthy"
        for candidate in candidates:
            if self.health.is_healthy(candidate.name):
                return candidate, f"{reason}; {chosen.name} {why}, fell back to {candidate.name}"
        waits = [self.health.cooldowns.remaining(m.name) for m in (chosen, *candidates)]
        if all(waits):  # every candidate asked to be left alone for a while: tell the client how long
            raise rate_limited(min(waits))
        return chosen, f"{reason}; every fallback is unhealthy too"

    def _passthrough(self, model: ModelConfig, parsed: ParsedRequest, start: int) -> RoutePlan:
        view = parsed.view
        return RoutePlan(
            model,
            PASSTHROUGH_DECISION,
            "passthrough",
            "the request named this model",
            (),
            None,
            model.name,
            RouteTimings(start, perf_counter_ns()),
            prompt_tokens=parsed.size // BYTES_PER_TOKEN,
            max_completion_tokens=view.max_output_tokens if view is not None else max_output_tokens(parsed.data),
            data=parsed.data,
            api=parsed.api,
        )
