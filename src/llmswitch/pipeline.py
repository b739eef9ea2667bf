"""The routing pipeline: parse -> signals -> decision -> selector -> route plan.

Pure and synchronous: no gRPC, no I/O. The ext_proc servicer, the Route API and the CLI
all call `RoutingPipeline.route`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from llmswitch.budget import BudgetGuard
from llmswitch.budget.store import BudgetStore, MemoryStore
from llmswitch.config import ConfigError, LoadedConfig
from llmswitch.config.schema import Decision, ModelConfig
from llmswitch.decisions import DecisionTable
from llmswitch.health import HealthTracker
from llmswitch.protocols.errors import bad_request, model_not_found, too_large
from llmswitch.protocols.openai_chat import dump_json, load_json_object, parse_chat, requested_model
from llmswitch.request import Analyzer, RouteRequest, Semantics, SemanticsRequired, SemanticsUnavailable
from llmswitch.selection import Selection, SelectionRequired, SelectorContext, build_selector, is_async
from llmswitch.signals import SignalSet

if TYPE_CHECKING:
    from llmswitch.semantics import SemanticEngine
    from llmswitch.telemetry.metrics import RouterMetrics
from llmswitch.tokens import BYTES_PER_TOKEN

DEFAULT_DECISION = "default"
PASSTHROUGH_DECISION = "passthrough"


@dataclass(frozen=True)
class RouteTimings:
    """perf_counter_ns marks of one routing, for latency metrics and trace spans."""

    start: int
    end: int
    decision: tuple[int, int] = (0, 0)
    selection: tuple[int, int] = (0, 0)
    signals: dict[str, tuple[int, int]] = field(default_factory=dict)
    """signal type -> (start, total duration)"""


@dataclass
class RoutePlan:
    model: ModelConfig
    decision: str
    algorithm: str
    reason: str
    signals: tuple[tuple[str, str, float], ...]
    body: bytes | None
    """The rewritten body, or None when the body goes upstream unchanged."""
    requested_model: str
    timings: RouteTimings
    prompt: str = ""
    """The user's text, for traces that opt in to prompts."""
    prompt_tokens: int = 0
    """Estimated prompt tokens, for budget reservations."""
    max_completion_tokens: int | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    """The parsed body, kept so a later step (a budget downgrade) can re-render it."""
    semantics_timed_out: bool = False
    """Routed without the prompt's semantics: the encoder did not answer within semantics.timeout_ms."""


def is_chat_completions(path: str) -> bool:
    return path.partition("?")[0].endswith("/chat/completions")


def _max_completion_tokens(data: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _upstream_credentials(loaded: LoadedConfig) -> dict[str, str]:
    """model name -> Authorization value, from the environment variables the config names."""
    credentials, missing = {}, []
    for index, model in enumerate(loaded.config.models):
        if model.api_key_env is None:
            continue
        key = os.environ.get(model.api_key_env)
        if key:
            credentials[model.name] = f"Bearer {key}"
        else:
            missing.append(f"models[{index}].api_key_env: environment variable {model.api_key_env} is not set")
    if missing:
        raise ConfigError(loaded.source, missing)
    return credentials


class RoutingPipeline:
    """Routes request bodies under one immutable config; build a new one to reload."""

    def __init__(
        self,
        loaded: LoadedConfig,
        health: HealthTracker | None = None,
        budget_store: BudgetStore | None = None,
        analyzer: SemanticEngine | None = None,
        metrics: RouterMetrics | None = None,
    ) -> None:
        self.loaded = loaded
        config = loaded.config
        self.config = config
        self.health = health or HealthTracker(config.health)
        self.analyzer: Analyzer | None = analyzer
        self.budget = BudgetGuard(config.budget, budget_store or MemoryStore())
        self.upstream_auth = _upstream_credentials(loaded)
        self._models = {m.name: m for m in config.models}
        self._auto = frozenset(config.routing.auto_models)
        self._signals = SignalSet(config, analyzer)
        self._decisions = DecisionTable(config.decisions)
        base_dir = Path(loaded.source).parent
        self._selectors = {
            d.name: build_selector(SelectorContext(config, d, i, loaded.source, base_dir, self.budget, metrics))
            for i, d in enumerate(config.decisions)
        }
        self._default = self._models[config.default_model]
        self._decision_index = {d.name: i for i, d in enumerate(config.decisions)}
        self._analysis_timeout = config.semantics.timeout_ms / 1000
        self._fallbacks = [self._models[name] for name in config.routing.fallback_models]
        self._inject_stream_usage = config.accounting.enabled and config.accounting.inject_stream_usage
        self.max_body_bytes = config.router.max_body_bytes

    async def route_async(
        self, headers: Mapping[str, str], body: bytes, path: str = "/v1/chat/completions"
    ) -> RoutePlan:
        """`route`, doing the waiting it asks for: the prompt's semantics (computed once, within
        `semantics.timeout_ms`) and asynchronous selectors. Each pass resolves one need."""
        semantics: Semantics | None = None
        timed_out = False
        analysis: tuple[int, int] | None = None
        selections: dict[str, Selection] = {}
        for _ in range(4):
            try:
                return self.route(headers, body, path, semantics, analysis, selections, timed_out)
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
        first = self.config.decisions[self._decision_index[decision]].model_refs[0].model
        return Selection(first, "semantic analysis timed out: first modelRef")

    def route(
        self,
        headers: Mapping[str, str],
        body: bytes,
        path: str = "/v1/chat/completions",
        semantics: Semantics | None = None,
        analysis: tuple[int, int] | None = None,
        selections: Mapping[str, Selection] | None = None,
        semantics_timed_out: bool = False,
    ) -> RoutePlan:
        """Plan one request; raises `RequestError` for anything a client must fix, and
        `SemanticsRequired` when `semantics` is needed but not given (see `route_async`)."""
        start = perf_counter_ns() if analysis is None else analysis[0]
        if len(body) > self.max_body_bytes:
            raise too_large(len(body), self.max_body_bytes)
        data = load_json_object(body)
        model_name = requested_model(data)
        model = self._models.get(model_name)
        if model is not None:
            return self._passthrough(model, data, len(body), start)
        if model_name not in self._auto:
            raise model_not_found(model_name)
        if not is_chat_completions(path):
            raise bad_request("unsupported_endpoint", f"Automatic model routing is not available for {path}.")
        request = RouteRequest(headers, parse_chat(data, model_name), semantics, semantics_timed_out)
        signals = self._signals.evaluator(request)
        if analysis is not None:
            signals.timings["semantics"] = analysis
        decided = perf_counter_ns()
        decision = self._decisions.first_match(signals)
        selected = perf_counter_ns()
        if decision is None:
            chosen, name, algorithm, reason = self._default, DEFAULT_DECISION, "default", "no decision matched"
        else:
            selection = self._select(decision.name, request, selections)
            chosen, name = self._models[selection.model], decision.name
            algorithm, reason = decision.algorithm.type, selection.reason
        if not self.health.is_healthy(chosen.name):
            chosen, reason = self._fallback(chosen, decision, reason)
        body = self.render_body(data, chosen)
        end = perf_counter_ns()
        return RoutePlan(
            chosen,
            name,
            algorithm,
            reason,
            tuple(signals.matched()),
            body,
            model_name,
            RouteTimings(start, end, (decided, selected), (selected, end), signals.timings),
            request.user_text,
            request.prompt_tokens,
            _max_completion_tokens(data),
            data,
            semantics_timed_out,
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
        refs = [self._models[r.model] for r in decision.model_refs] if decision is not None else []
        for candidate in (*refs, *self._fallbacks, self._default):
            if self.health.is_healthy(candidate.name):
                return candidate, f"{reason}; {chosen.name} unhealthy, fell back to {candidate.name}"
        return chosen, f"{reason}; every fallback is unhealthy too"

    def render_body(self, data: dict[str, Any], model: ModelConfig) -> bytes | None:
        """Rewrite `model` (and ask streams for usage when accounting is on); None if nothing changed."""
        changed = False
        if data.get("model") != model.body_model:
            data["model"] = model.body_model
            changed = True
        if self._inject_stream_usage and data.get("stream") is True:
            options = data.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                data["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
                changed = True
        return dump_json(data) if changed else None

    def downgrade_model(self) -> ModelConfig:
        """Where over-budget requests go: budget.downgrade_model, else the model with the lowest prices."""
        configured = self.config.budget.downgrade_model
        if configured is not None:
            return self._models[configured]
        return min(self.config.models, key=lambda m: (m.pricing.input_per_1m + m.pricing.output_per_1m) if m.pricing else 0.0)

    def model(self, name: str) -> ModelConfig:
        return self._models[name]

    def _passthrough(self, model: ModelConfig, data: dict[str, Any], size: int, start: int) -> RoutePlan:
        body = self.render_body(data, model)
        return RoutePlan(
            model,
            PASSTHROUGH_DECISION,
            "passthrough",
            "the request named this model",
            (),
            body,
            model.name,
            RouteTimings(start, perf_counter_ns()),
            prompt_tokens=size // BYTES_PER_TOKEN,
            max_completion_tokens=_max_completion_tokens(data),
            data=data,
        )
