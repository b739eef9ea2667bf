"""Prometheus metrics, served on their own HTTP port (`telemetry.metrics.port`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from llmswitch.telemetry.route_stats import RouteStats

MAX_TENANT_LABELS = 1000
_RESPONSE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.routes = RouteStats()
        r.register(self.routes)
        self.errors = Counter("llmswitch_errors", "Requests answered with an error, by reason.", ["reason"], registry=r)
        self.reloads = Counter("llmswitch_config_reloads", "Config reloads, by result (ok, failed).", ["result"], registry=r)
        self.model_tokens = Counter(
            "llmswitch_model_tokens", "Tokens reported by model responses.", ["model", "kind"], registry=r
        )
        self.model_cost = Counter(
            "llmswitch_model_cost", "Cost of model responses, in the currency of the pricing config.", ["model"], registry=r
        )
        self.usage_estimated = Counter(
            "llmswitch_usage_estimated",
            "Streamed responses whose usage the model did not report (cut short, or not asked for): tokens estimated "
            "from the request size and the streamed text.",
            ["model"],
            registry=r,
        )
        self.usage_invalid = Counter(
            "llmswitch_usage_invalid",
            "Responses whose reported usage held a negative token count (counted as 0).",
            ["model"],
            registry=r,
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
        self.failovers = Counter(
            "llmswitch_failovers",
            "Requests answered by another model of their failover chain, by the model that failed and the one that answered.",
            ["from", "to"],
            registry=r,
        )
        self.model_cooldowns = Counter(
            "llmswitch_model_cooldowns",
            "Models taken out of rotation, by reason: rate_limited (a 429) or failures (health.failure_threshold).",
            ["model", "reason"],
            registry=r,
        )
        self.semantic_timeouts = Counter(
            "llmswitch_semantic_timeouts",
            "Requests routed without semantics because the encoder missed semantics.timeout_ms.",
            registry=r,
        )
        self.tenant_cost = Counter(
            "llmswitch_tenant_cost",
            f"Cost of model responses by tenant (at most {MAX_TENANT_LABELS} tenants, the rest as \"other\").",
            ["tenant"],
            registry=r,
        )
        self.budget_spent = Gauge(
            "llmswitch_budget_spent", "Spend counted against a budget limit, by scope and tenant.", ["scope", "tenant"],
            registry=r,
        )
        self.budget_limit = Gauge("llmswitch_budget_limit", "The budget limit of each scope.", ["scope"], registry=r)
        self._tenants: set[str] = set()
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
        self.plugin_fixes = Counter(
            "llmswitch_plugin_fixes",
            "Request parameters a plugin dropped or fixed because the chosen model rejects them.",
            ["model", "parameter", "action"], registry=r,
        )
        self.cache_hits = Counter(
            "llmswitch_cache_hits", "Requests answered from the response cache, by match (exact, semantic).",
            ["decision", "match"], registry=r,
        )
        self.cache_misses = Counter(
            "llmswitch_cache_misses", "Cacheable requests sent upstream (no entry, or cache-control: no-cache).",
            ["decision"], registry=r,
        )
        self.cache_bypasses = Counter(
            "llmswitch_cache_bypasses", "Requests of cached decisions the cache left alone, by reason.",
            ["decision", "reason"], registry=r,
        )
        self.cache_stores = Counter(
            "llmswitch_cache_stores", "Responses stored in the cache.", ["decision"], registry=r
        )
        self.cache_stored_bytes = Counter(
            "llmswitch_cache_stored_bytes", "Bytes of responses stored in the cache.", ["decision"], registry=r
        )
        self.cache_served_bytes = Counter(
            "llmswitch_cache_served_bytes", "Bytes of cached answers sent to clients.", ["decision"], registry=r
        )
        self.cache_errors = Counter(
            "llmswitch_cache_errors", "Failed cache store operations (the request went on without the cache).",
            ["operation"], registry=r,
        )
        self.cache_entries = Gauge(
            "llmswitch_cache_entries", "Entries this process holds (memory store) or mirrors (Redis: embeddings).",
            registry=r,
        )
        self.cache_bytes = Gauge("llmswitch_cache_bytes", "Bytes behind llmswitch_cache_entries.", registry=r)
        self.safety_actions = Counter(
            "llmswitch_safety_actions", "Requests a safety plugin acted on, by signal (pii, jailbreak) and action "
            "(block, redact, flag).", ["signal", "action"], registry=r,
        )
        self.config_info = Gauge(
            "llmswitch_config_info", "The config in use (value 1), by content hash.", ["sha256", "source"], registry=r
        )

    def tenant_label(self, tenant: str) -> str:
        """The tenant as a label value; past MAX_TENANT_LABELS distinct tenants, "other" (bounded series)."""
        if tenant in self._tenants:
            return tenant
        if len(self._tenants) >= MAX_TENANT_LABELS:
            return "other"
        self._tenants.add(tenant)
        return tenant

    def set_config(self, sha256: str, source: str) -> None:
        self.config_info.clear()
        self.config_info.labels(sha256=sha256, source=source).set(1)

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        start_http_server(port, address, registry=self.registry)
