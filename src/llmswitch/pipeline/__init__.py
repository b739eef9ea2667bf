"""The request pipeline, in the order its steps run:

    client codec (`ingress`) -> routing (`routing`) -> the decision's actions (`actions`)
      -> route plan -> egress (`egress`)

Pure of gRPC: the ext_proc servicer turns Envoy's messages into `process` calls and the `Forward` /
`Respond` it returns into replies; the Route API and `llmswitch route` call `route_async`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from time import perf_counter_ns
from typing import TYPE_CHECKING

from llmswitch import headers as names
from llmswitch.budget import BudgetGuard
from llmswitch.budget.store import BudgetStore, MemoryStore
from llmswitch.config import LoadedConfig
from llmswitch.config.schema import ModelConfig
from llmswitch.health import HealthTracker
from llmswitch.pipeline.actions import Exchange, build_actions
from llmswitch.pipeline.bodyless import BodylessAnswers
from llmswitch.pipeline.egress import Egress
from llmswitch.pipeline.ingress import parse_request
from llmswitch.pipeline.plan import Continue, Forward, HttpRequest, Respond, RoutePlan, RouteTimings
from llmswitch.pipeline.upstream import UpstreamAttempt
from llmswitch.pipeline.routing import DEFAULT_DECISION, PASSTHROUGH_DECISION, DecisionRouter
from llmswitch.protocols.errors import RequestError, headers_too_large, internal_error
from llmswitch.protocols.paths import API_PATHS, client_api

if TYPE_CHECKING:
    from llmswitch.semantics import SemanticEngine
    from llmswitch.telemetry import Telemetry

log = logging.getLogger(__name__)

# Envoy checks the header map after the router's mutations against the limits it applies to clients.
# Requests too close to them get a 431 here, instead of a 503 when the routed headers are added.
_ROUTER_HEADERS = 8
_ROUTER_HEADER_BYTES = 4096


class RoutingPipeline:
    """Handles requests under one immutable config; build a new one to reload."""

    def __init__(
        self,
        loaded: LoadedConfig,
        health: HealthTracker | None = None,
        budget_store: BudgetStore | None = None,
        analyzer: SemanticEngine | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.loaded = loaded
        config = loaded.config
        self.config = config
        self.telemetry = telemetry
        metrics = telemetry.metrics if telemetry is not None else None
        self.health = health or HealthTracker(config.health)
        self.budget = BudgetGuard(config.budget, budget_store or MemoryStore())
        self.egress = Egress(loaded)
        self.router = DecisionRouter(loaded, self.health, self.budget, analyzer, metrics)
        self._actions = build_actions(config, self.budget, metrics)
        self._no_actions = self._actions[""]
        self.max_body_bytes = config.router.max_body_bytes
        self._removed_headers = names.routing_headers(config.routing.cluster_header)
        self.bodyless = BodylessAnswers(config)

    def model(self, name: str) -> ModelConfig:
        return self.router.models[name]

    @property
    def analyzer(self) -> SemanticEngine | None:
        return self.router.analyzer  # type: ignore[return-value]

    # -- planning only (the Route API, `llmswitch route`, tests) --------------------------------------

    def route(self, headers: Mapping[str, str], body: bytes, path: str = "/v1/chat/completions") -> RoutePlan:
        """The plan for a request whose semantics and selection need no waiting, with its upstream body."""
        start = perf_counter_ns()
        plan = self.router.route(headers, parse_request(path, body, self.max_body_bytes), start)
        plan.body = self.egress.render_body(plan.data, plan.model, plan.api or "")
        return plan

    async def route_async(
        self, headers: Mapping[str, str], body: bytes, path: str = "/v1/chat/completions"
    ) -> RoutePlan:
        """The plan for any request (waiting for semantics or selectors as needed), with its upstream body."""
        start = perf_counter_ns()
        plan = await self.router.route_async(headers, parse_request(path, body, self.max_body_bytes), start)
        plan.body = self.egress.render_body(plan.data, plan.model, plan.api or "")
        return plan

    def upstream_attempt(self, headers: Mapping[str, str], model_name: str) -> UpstreamAttempt | None:
        """The translation of one upstream attempt, or None when it needs none (or its model left the config)."""
        client_api = headers.get(names.EGRESS)
        model = self.router.models.get(model_name)
        if client_api not in API_PATHS or model is None:
            return None
        return UpstreamAttempt(self.egress, model, client_api, headers)  # type: ignore[arg-type]

    # -- the whole request ----------------------------------------------------------------------------

    def check_headers(self, count: int, size: int) -> Respond | None:
        """A 431 for requests whose headers leave no room for the ones the router adds."""
        routing = self.config.routing
        if count > routing.max_request_headers - _ROUTER_HEADERS:
            return self._reject(headers_too_large(f"{count} headers; reduce them"), HttpRequest({}, "/", "GET"))
        if size > routing.max_request_headers_kb * 1024 - _ROUTER_HEADER_BYTES:
            return self._reject(headers_too_large(f"{size} bytes of headers; reduce them"), HttpRequest({}, "/", "GET"))
        return None

    def headers_only(self, request: HttpRequest) -> Respond | Continue:
        """A request without a body: a fixed answer (`bodyless`), or through with the routing headers removed."""
        answer = self.bodyless.match(request.method, request.path)
        if answer is None:
            # A body-less request (GET, DELETE, ...) goes to the default route; drop any spoofed routing header.
            return Continue(self._removed_headers)
        if answer.error is not None and self.telemetry is not None:
            self.telemetry.rejected(request.headers, request.started_ns, answer.error)
        return answer.respond

    async def process(self, request: HttpRequest) -> Forward | Respond:
        """Route one buffered request: client codec, routing, the decision's actions, egress."""
        try:
            parsed = parse_request(request.path, request.body, self.max_body_bytes)
            plan = await self.router.route_async(request.headers, parsed, request.started_ns or perf_counter_ns())
            exchange = Exchange(request, parsed.view, plan)
            for action in self._actions.get(plan.decision, self._no_actions):
                answer = await action.apply(exchange)
                if answer is not None:
                    return answer
            forward = self.egress.forward(exchange)
        except RequestError as err:
            return self._reject(err, request)
        except Exception:
            log.exception("routing failed for %s %s", request.method, request.path)
            return self._reject(internal_error(), request)
        if self.telemetry is not None:
            forward.headers.extend(self.telemetry.routed(request.headers, request.started_ns, forward.plan).items())
        return forward

    def _reject(self, err: RequestError, request: HttpRequest) -> Respond:
        if self.telemetry is not None:
            self.telemetry.rejected(request.headers, request.started_ns, err)
        return Respond(err.status, err.body_for(client_api(request.path) or "chat"), f"llmswitch_{err.code}")


__all__ = [
    "DEFAULT_DECISION",
    "PASSTHROUGH_DECISION",
    "Continue",
    "Forward",
    "HttpRequest",
    "Respond",
    "RoutePlan",
    "RouteTimings",
    "RoutingPipeline",
]
