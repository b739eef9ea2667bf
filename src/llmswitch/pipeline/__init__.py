"""The request pipeline, in the order its steps run:

    client codec (`ingress`) -> routing (`routing`) -> the decision's actions (`actions`)
      -> route plan -> egress (`egress`)

Pure of gRPC: the ext_proc servicer turns Envoy's messages into `process` calls and the `Forward` /
`Respond` it returns into replies; the Route API and `llmswitch route` call `route_async`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from time import perf_counter_ns
from typing import TYPE_CHECKING

from llmswitch import headers as names
from llmswitch.budget import BudgetGuard
from llmswitch.budget.store import BudgetStore, MemoryStore
from llmswitch.config import LoadedConfig
from llmswitch.config.cache import CacheConfig
from llmswitch.config.models import ModelConfig
from llmswitch.config.schema import Config
from llmswitch.health import HealthTracker
from llmswitch.pipeline.actions import Exchange, build_actions
from llmswitch.pipeline.bodyless import BodylessAnswers
from llmswitch.pipeline.egress import Egress
from llmswitch.pipeline.ingress import parse_request
from llmswitch.pipeline.plan import Continue, Forward, HttpRequest, Respond, RoutePlan, RouteTimings
from llmswitch.pipeline.routing import DEFAULT_DECISION, PASSTHROUGH_DECISION, DecisionRouter
from llmswitch.pipeline.upstream import UpstreamAttempt
from llmswitch.protocols.errors import RequestError, bad_request, headers_too_large, internal_error
from llmswitch.protocols.paths import API_PATHS, client_api

if TYPE_CHECKING:
    from llmswitch.cache import CacheStore, ResponseCache
    from llmswitch.endpoints import EndpointPicker
    from llmswitch.semantics import SemanticEngine
    from llmswitch.telemetry import Telemetry
    from llmswitch.telemetry.metrics import RouterMetrics

log = logging.getLogger(__name__)

# Envoy checks the header map after the router's mutations against the limits it applies to clients.
# Requests too close to them get a 431 here, instead of a 503 when the routed headers are added
# (these, plus the headers the config's plugins set; the cache's internal header is about 1.2 KB).
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
        cache_store: CacheStore | None = None,
        endpoints: EndpointPicker | None = None,
        deployed_chains: list[tuple[str, ...]] | None = None,
    ) -> None:
        self.loaded = loaded
        config = loaded.config
        self.config = config
        self.telemetry = telemetry
        metrics = telemetry.metrics if telemetry is not None else None
        self.health = health or HealthTracker(config.health)
        self.budget = BudgetGuard(config.budget, budget_store or MemoryStore())
        self.egress = Egress(loaded, deployed_chains)
        self.endpoints = endpoints
        self.router = DecisionRouter(loaded, self.health, self.budget, analyzer, metrics)
        self.cache = self._response_cache(cache_store, metrics)
        from llmswitch.plugins import added_headers, build_plugins  # plugins import the pipeline's actions
        from llmswitch.plugins.safety import build_safety

        self._actions = build_actions(
            config,
            self.budget,
            metrics,
            build_plugins(config, metrics, self.cache),
            _endpoint_pick(config, endpoints),
            build_safety(config, metrics, self.analyzer),
        )
        self._no_actions = self._actions[PASSTHROUGH_DECISION]
        plugin_headers, plugin_header_bytes = added_headers(config)
        self._added_headers = _ROUTER_HEADERS + plugin_headers
        self._added_header_bytes = _ROUTER_HEADER_BYTES + plugin_header_bytes
        self.max_body_bytes = config.router.max_body_bytes
        self._removed_headers = names.routing_headers(config.routing.cluster_header, *names.gateway_headers(config))
        self._single_headers = single_value_headers(config)
        self.bodyless = BodylessAnswers(config)

    def _response_cache(self, store: CacheStore | None, metrics: RouterMetrics | None) -> ResponseCache | None:
        """The response cache, when some decision's requests are cached; its store outlives reloads (RouterState)."""
        config = self.config
        if not config.cache_settings():
            return None
        from llmswitch.cache import ResponseCache, build_store

        store = store or build_store(config.cache or CacheConfig())
        window = self.analyzer.window if self.analyzer is not None else None
        return ResponseCache(config, store, self.budget, self.analyzer, metrics, window)

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

    def upstream_attempt(
        self, headers: Mapping[str, str], model_name: str, cluster: str = ""
    ) -> UpstreamAttempt | None:
        """The rewrite of one upstream attempt, or None when it needs none (or its model left the config).

        An attempt marked for translation is translated for its model; on a failover chain's `cluster`,
        an attempt at a model after the chain's first is rewritten for that model (the request left
        the router in the client's API, rendered for the chain's first model)."""
        model = self.router.models.get(model_name)
        chain = self.egress.chains.by_cluster(cluster) if cluster else None
        client_api = headers.get(names.EGRESS) or (chain.api if chain is not None else None)
        if client_api not in API_PATHS or model is None:
            return None
        failed = chain.after(model_name) if chain is not None else ()
        previous = [self.router.models[name] for name in failed if name in self.router.models]
        return UpstreamAttempt(self.egress, model, client_api, headers, previous)  # type: ignore[arg-type]

    # -- the whole request ----------------------------------------------------------------------------

    def check_headers(
        self, count: int, size: int, repeated: Iterable[str] = (), request: HttpRequest | None = None
    ) -> Respond | None:
        """A 431 for requests whose headers leave no room for the ones the router adds; a 400 for a repeated
        header the router reads (it would read one value while the model or an auth layer reads another)."""
        request = request or HttpRequest({}, "/", "GET", started_ns=perf_counter_ns())
        routing = self.config.routing
        if count > routing.max_request_headers - self._added_headers:
            return self._reject(headers_too_large(f"{count} headers; reduce them"), request)
        if size > routing.max_request_headers_kb * 1024 - self._added_header_bytes:
            return self._reject(headers_too_large(f"{size} bytes of headers; reduce them"), request)
        for name in repeated:
            if name in self._single_headers:
                message = f"The header {name!r} appears more than once; send it once."
                return self._reject(bad_request("duplicate_header", message, param=name), request)
        return None

    def headers_only(self, request: HttpRequest) -> Respond | Continue:
        """A request without a body: a fixed answer (`bodyless`), or through with the routing headers removed."""
        answer = self.bodyless.match(request.method, request.path)
        if answer is None:
            # A body-less request (GET, DELETE, ...) goes to the default route; drop any spoofed routing header.
            return Continue(self._removed_headers)
        if answer.error is not None and self.telemetry is not None:
            self.telemetry.rejected(request.headers, request.started_ns, answer.error)
        return replace(answer.respond, body=b"") if request.method == "HEAD" else answer.respond

    async def process(self, request: HttpRequest) -> Forward | Respond:
        """Route one buffered request: client codec, routing, the decision's actions, egress."""
        exchange: Exchange | None = None
        try:
            self._check_request(request)
            parsed = parse_request(request.path, request.body, self.max_body_bytes)
            if parsed.api is None and (named := self.router.models.get(parsed.model)) is not None:
                self.egress.endpoints.passthrough_credential(named, request.method, request.path)
            plan = await self.router.route_async(request.headers, parsed, request.started_ns or perf_counter_ns())
            exchange = Exchange(request, parsed.view, plan)
            for action in self._actions.get(plan.decision, self._no_actions):
                answer = await action.apply(exchange)
                if answer is not None:
                    if self.telemetry is not None:
                        self.telemetry.answered(request.headers, request.started_ns, exchange.plan, answer)
                    await _undo(exchange.on_abandon)
                    return answer
            forward = self.egress.forward(exchange)
        except RequestError as err:
            if exchange is not None:
                await _undo(exchange.on_abandon)
            return self._reject(err, request)
        except asyncio.CancelledError:  # Envoy gave up on the stream (its message timeout): nothing goes upstream
            if exchange is not None:
                abandon(exchange.on_abandon)
            raise
        except Exception:
            log.exception("routing failed for %s %s", request.method, request.path)
            if exchange is not None:
                await _undo(exchange.on_abandon)
            return self._reject(internal_error(), request)
        if self.telemetry is not None:
            forward.headers.extend(self.telemetry.routed(request.headers, request.started_ns, forward.plan).items())
        return forward

    def _check_request(self, request: HttpRequest) -> None:
        """What the path, method and headers alone decide: a routed path takes POST; bodies are uncompressed."""
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise RequestError(
                415,
                "unsupported_content_encoding",
                f"Content-Encoding {encoding!r} is not supported; send the JSON body uncompressed.",
            )
        if client_api(request.path) is not None:
            self.egress.endpoints.check_routed(request.method)
        for name in request.joined:
            if name in self._single_headers:
                message = f"The header {name!r} appears more than once (or holds a comma); send it once."
                raise bad_request("duplicate_header", message, param=name)

    def _reject(self, err: RequestError, request: HttpRequest) -> Respond:
        if self.telemetry is not None:
            self.telemetry.rejected(request.headers, request.started_ns, err)
        body = err.body_for(client_api(request.path) or "chat")
        return Respond(err.status, body, f"llmswitch_{err.code}", headers=err.headers)


def single_value_headers(config: Config) -> frozenset[str]:
    """Request headers the router decides by: header signals, and the budget's tenant (its header, or the
    API key when tenants are keyed). Sent twice, the router would read one value and others the other."""
    names_read = {signal.header for signal in config.signals.headers}
    budget = config.budget
    if budget.limits:
        names_read.add("authorization" if budget.tenants else budget.tenant_header)
    return frozenset(names_read)


async def _undo(callbacks: list[Callable[[], Awaitable[None]]]) -> None:
    for callback in callbacks:
        await callback()


_ABANDONED: set[asyncio.Task] = set()


def abandon(callbacks: list[Callable[[], Awaitable[None]]]) -> None:
    """Undo an exchange's commitments in a task of its own (its request's task is being cancelled)."""
    if not callbacks:
        return
    task = asyncio.get_running_loop().create_task(_undo(callbacks))
    _ABANDONED.add(task)
    task.add_done_callback(_ABANDONED.discard)


def _endpoint_pick(config: Config, picker: EndpointPicker | None):
    """The endpoint-pick action, when endpoint picking is on (imported only then)."""
    if picker is None or not config.endpoint_picking.enabled:
        return None
    from llmswitch.endpoints import PickEndpoint

    return PickEndpoint(picker, config)


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
    "abandon",
]
