"""The routing pipeline: parse -> signals -> decision -> selector -> route plan.

Pure and synchronous: no gRPC, no I/O. The ext_proc servicer, the Route API and the CLI
all call `RoutingPipeline.route`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

import orjson

from llmswitch.config import LoadedConfig
from llmswitch.config.schema import ModelConfig
from llmswitch.decisions import by_priority, first_match
from llmswitch.protocols.errors import bad_request, model_not_found, too_large
from llmswitch.protocols.openai_chat import load_json_object, parse_chat, requested_model
from llmswitch.request import RouteRequest
from llmswitch.selection import build_selector
from llmswitch.signals import SignalSet

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


@dataclass(frozen=True)
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


def is_chat_completions(path: str) -> bool:
    return path.partition("?")[0].endswith("/chat/completions")


class RoutingPipeline:
    """Routes request bodies under one immutable config; build a new one to reload."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        config = loaded.config
        self.config = config
        self._models = {m.name: m for m in config.models}
        self._auto = frozenset(config.routing.auto_models)
        self._signals = SignalSet(config.signals)
        self._decisions = by_priority(config.decisions)
        self._selectors = {d.name: build_selector(d) for d in config.decisions}
        self._default = self._models[config.default_model]
        self.max_body_bytes = config.router.max_body_bytes

    def route(self, headers: Mapping[str, str], body: bytes, path: str = "/v1/chat/completions") -> RoutePlan:
        """Plan one request; raises `RequestError` for anything a client must fix."""
        start = perf_counter_ns()
        if len(body) > self.max_body_bytes:
            raise too_large(len(body), self.max_body_bytes)
        data = load_json_object(body)
        model_name = requested_model(data)
        model = self._models.get(model_name)
        if model is not None:
            return self._passthrough(model, data, start)
        if model_name not in self._auto:
            raise model_not_found(model_name)
        if not is_chat_completions(path):
            raise bad_request("unsupported_endpoint", f"Automatic model routing is not available for {path}.")
        request = RouteRequest(headers, parse_chat(data, model_name))
        signals = self._signals.evaluator(request)
        decided = perf_counter_ns()
        decision = first_match(self._decisions, signals)
        selected = perf_counter_ns()
        if decision is None:
            chosen, name, algorithm, reason = self._default, DEFAULT_DECISION, "default", "no decision matched"
        else:
            selection = self._selectors[decision.name].select(request)
            chosen, name = self._models[selection.model], decision.name
            algorithm, reason = decision.algorithm.type, selection.reason
        body = request.chat.with_model(chosen.body_model)
        end = perf_counter_ns()
        timings = RouteTimings(start, end, (decided, selected), (selected, end), signals.timings)
        matched = tuple(signals.matched())
        return RoutePlan(chosen, name, algorithm, reason, matched, body, model_name, timings, request.chat.user_text)

    @staticmethod
    def _passthrough(model: ModelConfig, data: dict[str, Any], start: int) -> RoutePlan:
        body = None
        if model.upstream_model is not None:
            data["model"] = model.body_model
            body = orjson.dumps(data)
        timings = RouteTimings(start, perf_counter_ns())
        reason = "the request named this model"
        return RoutePlan(model, PASSTHROUGH_DECISION, "passthrough", reason, (), body, model.name, timings)
