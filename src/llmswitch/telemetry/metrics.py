"""Prometheus metrics, served on their own HTTP port (`telemetry.metrics.port`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_RESPONSE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "llmswitch_requests", "Requests routed, by decision and model.", ["decision", "model"], registry=r
        )
        self.routing_seconds = Histogram(
            "llmswitch_routing_duration_seconds",
            "Time to route one request: parse, signals, decision and selection.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.signal_seconds = Histogram(
            "llmswitch_signal_duration_seconds",
            "Time spent evaluating signals of one type for one request.",
            ["type"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter("llmswitch_errors", "Requests answered with an error, by reason.", ["reason"], registry=r)
        self.reloads = Counter("llmswitch_config_reloads", "Config reloads, by result (ok, failed).", ["result"], registry=r)
        self.inflight = Gauge("llmswitch_inflight_streams", "ext_proc streams being processed.", registry=r)
        self.streams = Counter(
            "llmswitch_extproc_streams",
            "Finished ext_proc streams, by how they ended: closed (Envoy half-closed) or reset (cancelled).",
            ["end"],
            registry=r,
        )
        self.model_tokens = Counter(
            "llmswitch_model_tokens", "Tokens reported by model responses.", ["model", "kind"], registry=r
        )
        self.model_cost = Counter(
            "llmswitch_model_cost", "Cost of model responses, in the currency of the pricing config.", ["model"], registry=r
        )
        self.model_responses = Counter(
            "llmswitch_model_responses", "Model responses by status class.", ["model", "status_class"], registry=r
        )
        self.model_ttfb_seconds = Histogram(
            "llmswitch_model_time_to_first_byte_seconds",
            "From the request leaving Envoy to the model's response headers.",
            ["model"],
            buckets=_RESPONSE_BUCKETS,
            registry=r,
        )
        self.model_duration_seconds = Histogram(
            "llmswitch_model_response_duration_seconds",
            "From the request leaving Envoy to the end of the model's response.",
            ["model"],
            buckets=_RESPONSE_BUCKETS,
            registry=r,
        )
        self.model_healthy = Gauge(
            "llmswitch_model_healthy", "1 while the router routes to the model, 0 while it is cooling down.", ["model"], registry=r
        )
        self.semantic_timeouts = Counter(
            "llmswitch_semantic_timeouts",
            "Requests routed without semantics because the encoder missed semantics.timeout_ms.",
            registry=r,
        )
        self.budget_downgrades = Counter(
            "llmswitch_budget_downgrades", "Requests sent to the downgrade model because a budget ran out.", registry=r
        )
        self.llm_router_calls = Counter(
            "llmswitch_llm_router_calls", "Calls to the LLM router (llm selector), by result: ok, timeout, error, invalid.",
            ["result"], registry=r,
        )
        self.llm_router_seconds = Histogram(
            "llmswitch_llm_router_duration_seconds", "Duration of one LLM router call.",
            buckets=_RESPONSE_BUCKETS, registry=r,
        )
        self.llm_router_cost = Counter(
            "llmswitch_llm_router_cost", "Cost of LLM router calls, from usage and the router model's pricing.", registry=r
        )
        self._route_children: dict[tuple[str, str], Counter] = {}
        self._signal_children: dict[str, Histogram] = {}
        self.config_info = Gauge(
            "llmswitch_config_info", "The config in use (value 1), by content hash.", ["sha256", "source"], registry=r
        )

    def route_counter(self, decision: str, model: str) -> Counter:
        """The labelled child for one route, cached: label lookup costs more than the increment."""
        key = (decision, model)
        child = self._route_children.get(key)
        if child is None:
            child = self._route_children[key] = self.requests.labels(decision, model)
        return child

    def signal_histogram(self, signal_type: str) -> Histogram:
        child = self._signal_children.get(signal_type)
        if child is None:
            child = self._signal_children[signal_type] = self.signal_seconds.labels(signal_type)
        return child

    def set_config(self, sha256: str, source: str) -> None:
        self.config_info.clear()
        self.config_info.labels(sha256=sha256, source=source).set(1)

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        start_http_server(port, address, registry=self.registry)
