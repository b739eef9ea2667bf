"""The configuration schema: the single source of truth for the YAML file and its JSON Schema.

Every model forbids unknown keys. Cross-references (signals named by rules, models named by
decisions) are checked after the structure, with the YAML path of each offending value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from llmswitch.config.algorithms import ModelSelectionConfig
from llmswitch.config.base import HeaderName, Name, Port, StrictModel
from llmswitch.config.cache import CacheConfig, CacheSettings, decision_cache
from llmswitch.config.decisions import Condition, Decision
from llmswitch.config.failover import FailoverConfig, RateLimitConfig
from llmswitch.config.models import EndpointPickingConfig, ModelConfig
from llmswitch.config.plugins import Plugin
from llmswitch.config.references import conditions_of, reference_problems
from llmswitch.config.signals import SEMANTIC_SIGNAL_TYPES, SemanticsConfig, SignalsConfig
from llmswitch.cpus import available_cpus

CONFIG_VERSION = "v1"
MIB = 1024 * 1024
MAX_WORKERS = 64


class ListenerConfig(StrictModel):
    """Envoy's public listener, used by the generated Envoy config."""

    @model_validator(mode="after")
    def _distinct_ports(self) -> ListenerConfig:
        ports = [p for p in (self.port, self.admin_port, self.probe_port) if p is not None]
        if len(set(ports)) != len(ports):
            raise ValueError("port, admin_port and probe_port must differ")
        return self

    address: str = "0.0.0.0"
    port: Port = 8080
    admin_port: Port = Field(9901, description="Envoy admin interface, bound to 127.0.0.1.")
    probe_port: Port | None = Field(
        None,
        description="A listener that serves only GET /ready from the admin interface, for Kubernetes probes.",
    )


class RouterConfig(StrictModel):
    """Where llmswitch listens, and the limits it shares with Envoy."""

    address: str = Field("127.0.0.1", description="Address Envoy uses to reach the router.")
    port: Port = 50051
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] | Literal["auto"] = Field(
        "auto",
        description="Router processes; worker i listens on port + i, all listed in one Envoy cluster. auto: one "
        "per CPU this process may use (its affinity, capped by a container's CPU quota), at most 64.",
    )
    max_body_bytes: int = Field(
        8 * MIB,
        ge=1024,
        le=512 * MIB,
        description="Largest request body accepted; Envoy's buffer limit is set to the same value.",
    )
    drain_seconds: float = Field(5.0, ge=0, description="Grace period for in-flight streams on SIGTERM.")


class RetryConfig(StrictModel):
    """Envoy retries, only before the response starts (a streamed answer is never replayed)."""

    num_retries: int = Field(1, ge=0, le=10)
    retry_on: str = Field("connect-failure,reset,retriable-status-codes", description="Envoy retry_on conditions.")
    retriable_status_codes: list[int] = Field([502, 503, 504])
    per_try_timeout_s: float = Field(0, ge=0, description="0: each try may take the whole request timeout.")


class OutlierDetectionConfig(StrictModel):
    """Envoy passive health checking of each model cluster's endpoints."""

    enabled: bool = True
    consecutive_5xx: int = Field(5, ge=1)
    interval_s: float = Field(10, gt=0)
    base_ejection_time_s: float = Field(30, gt=0)


class RoutingConfig(StrictModel):
    auto_models: list[Name] = Field(["auto"], min_length=1, description='Request "model" values that trigger routing.')
    cluster_header: HeaderName = "x-llmswitch-cluster"
    failure_mode_allow: bool = Field(
        False,
        description="If the router is unreachable, let requests through to default_model (true) or fail them (false).",
    )
    ext_proc_messages: Literal["auto", "one", "two"] = Field(
        "auto",
        description="ext_proc messages per routed request. one: the buffered body alone, with the headers routing "
        "reads as request attributes (fewer gRPC messages, more requests/s); two: request headers, then the body. "
        "auto: one unless a feature needs the headers message: failure_mode_allow (one message cannot tell a "
        "body-less POST from a request let through while the router is down), endpoint_picking (the picked host "
        "travels in envoy.lb metadata), a header_mutation plugin that removes headers.",
    )
    message_timeout_ms: int = Field(
        1000,
        ge=10,
        le=60000,
        description="Envoy's ext_proc per-message timeout; keep it well above the router's p99.9.",
    )
    request_timeout_s: float = Field(
        600, ge=0, description="Envoy's upstream timeout for a whole model response; 0 disables it."
    )
    response_headers: bool = Field(
        True,
        description="Add x-llmswitch-model and x-llmswitch-decision to responses (Envoy copies them from the routed request).",
    )
    max_request_headers: int = Field(100, ge=16, le=10000, description="Envoy's max_headers_count.")
    max_request_headers_kb: int = Field(60, ge=8, le=8192, description="Envoy's max_request_headers_kb.")
    fallback_models: list[Name] = Field(
        [], description="Tried in order when a decision's models are all unhealthy, before default_model."
    )
    retries: RetryConfig = RetryConfig()
    failover: FailoverConfig = FailoverConfig()
    outlier_detection: OutlierDetectionConfig = OutlierDetectionConfig()
    model_name_header: HeaderName | None = Field(
        "x-gateway-model-name",
        description="Set to the chosen model's upstream name on routed requests: the header the Gateway API "
        "Inference Extension's body-based router sets, so an existing GIE gateway can route by it. null: not set.",
    )


class HealthConfig(StrictModel):
    """Router-side model health: N failures (5xx, resets, timeouts) within a window take a model out of rotation."""

    enabled: bool = True
    failure_threshold: int = Field(3, ge=1)
    window_s: float = Field(30, gt=0)
    cooldown_s: float = Field(30, gt=0)
    rate_limits: RateLimitConfig = RateLimitConfig()


class AccountingConfig(StrictModel):
    """Observe responses (an observability-mode ext_proc stream: no added latency) for usage, cost and health."""

    enabled: bool = Field(True, description="Needed for usage/cost metrics, budgets and router-side health.")
    inject_stream_usage: bool = Field(
        True, description="Add stream_options.include_usage to streaming requests that lack it."
    )
    max_response_bytes: int = Field(4 * MIB, ge=1024, description="Larger JSON responses are not parsed for usage.")


class BudgetLimit(StrictModel):
    scope: Literal["global", "daily", "tenant", "tenant_daily"] = Field(
        description="global: all time; daily: per UTC day; tenant: per tenant, all time; tenant_daily: per tenant per day."
    )
    amount: float = Field(gt=0, description="In the currency of models[].pricing.")


class BudgetStoreConfig(StrictModel):
    type: Literal["memory", "redis"] = Field("memory", description="memory: one replica; redis: shared by replicas.")
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL, for type redis.")
    key_prefix: str = "llmswitch:budget"


class TenantKey(StrictModel):
    name: Name
    api_key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 hex of the tenant's bearer token.")


class BudgetConfig(StrictModel):
    limits: list[BudgetLimit] = []
    tenants: list[TenantKey] = Field(
        [], description="Tenants identified by their API key; when set, the tenant header is ignored."
    )
    tenant_header: HeaderName = Field(
        "x-tenant-id", description="Tenant header, trusted only if an authentication layer in front sets it."
    )
    anonymous: Literal["shared", "unlimited", "reject"] = Field(
        "shared",
        description="Requests without a tenant (no tenant header, or a key not in tenants) under tenant and "
        "tenant_daily limits: shared: they share one tenant budget '-'; unlimited: those limits do not apply to "
        "them (global and daily ones still do); reject: 401.",
    )
    anonymous_amount: float | None = Field(
        None, gt=0, description="With anonymous: shared, the shared budget's tenant limits; default: each limit's amount."
    )
    on_exceeded: Literal["downgrade", "reject"] = Field(
        "downgrade", description="downgrade: route to downgrade_model; reject: 429 insufficient_quota."
    )
    downgrade_model: Name | None = Field(None, description="Defaults to the model with the lowest pricing.")
    completion_estimate_tokens: int = Field(
        512, ge=1, description="Completion tokens reserved for a request without max_tokens, until its usage is known."
    )
    store: BudgetStoreConfig = BudgetStoreConfig()


class MetricsConfig(StrictModel):
    enabled: bool = True
    port: Port = Field(9090, description="Prometheus /metrics; worker i serves on port + i.")
    address: str | None = Field(
        None, description="Address /metrics binds; default: router.address (127.0.0.1; the chart uses 0.0.0.0)."
    )


class TracingConfig(StrictModel):
    enabled: bool | None = Field(
        None, description="OpenTelemetry traces; unset means on when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set."
    )
    endpoint: str | None = Field(None, description="OTLP/gRPC collector; defaults to the OTEL_* environment.")
    sampling_ratio: float | None = Field(
        None, ge=0, le=1, description="Parent-based ratio sampler; unset leaves OTEL_TRACES_SAMPLER in charge."
    )
    service_name: str = "llmswitch"
    include_prompt: bool = Field(False, description="Put the user's prompt text in spans. Off: prompts stay private.")


class TelemetryConfig(StrictModel):
    metrics: MetricsConfig = MetricsConfig()
    tracing: TracingConfig = TracingConfig()
    access_log: bool = Field(True, description="One JSON log line per request (no prompt text, no API keys).")


class ReloadConfig(StrictModel):
    watch: bool = Field(True, description="Reload when the config file's content changes (ConfigMap swaps included).")
    interval_s: float = Field(1.0, gt=0, le=3600, description="How often the file is checked.")


class Config(StrictModel):
    version: Literal["v1"]
    listener: ListenerConfig = ListenerConfig()
    router: RouterConfig = RouterConfig()
    routing: RoutingConfig = RoutingConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    reload: ReloadConfig = ReloadConfig()
    health: HealthConfig = HealthConfig()
    accounting: AccountingConfig = AccountingConfig()
    budget: BudgetConfig = BudgetConfig()
    semantics: SemanticsConfig = SemanticsConfig()
    endpoint_picking: EndpointPickingConfig = EndpointPickingConfig()
    model_selection: ModelSelectionConfig = ModelSelectionConfig()
    models: list[ModelConfig] = Field(min_length=1)
    signals: SignalsConfig = SignalsConfig()
    decisions: list[Decision] = []
    default_model: Name
    plugins: list[Plugin] = Field([], description="Applied to every request (routed or passthrough), before a decision's.")
    cache: CacheConfig | None = Field(None, description="The response cache; unset: off unless a decision opts in.")

    @model_validator(mode="after")
    def _one_message_possible(self) -> Config:
        reasons = self.two_message_reasons()
        if self.routing.ext_proc_messages == "one" and reasons:
            raise ValueError(f"routing.ext_proc_messages: one is not possible with {'; '.join(reasons)}: use two or auto")
        return self

    @model_validator(mode="after")
    def _references_resolve(self) -> Config:
        problems = list(reference_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def model(self, name: str) -> ModelConfig:
        return next(m for m in self.models if m.name == name)

    @property
    def worker_count(self) -> int:
        """`router.workers`, auto resolved for the machine (or container) this runs on.

        auto is one process when spend budgets live in memory: each worker would keep its own spend."""
        workers = self.router.workers
        if isinstance(workers, int):
            return workers
        return 1 if self.budget_in_memory() else min(available_cpus(), MAX_WORKERS)

    def semantics_per_worker(self) -> SemanticsConfig:
        """`semantics` with `intra_op_threads` capped so the workers' encoders together fit the CPUs.

        Encoder threads spin while a pass runs: more threads than CPUs across workers cost throughput."""
        share = max(1, available_cpus() // self.worker_count)
        if self.semantics.intra_op_threads <= share:
            return self.semantics
        return self.semantics.model_copy(update={"intra_op_threads": share})

    def budget_in_memory(self) -> bool:
        return bool(self.budget.limits) and self.budget.store.type == "memory"

    def uses_semantics(self) -> bool:
        """True when a tested signal or a decision's selector needs prompt embeddings."""
        if any(t in SEMANTIC_SIGNAL_TYPES for t, _ in self.referenced_signals()):
            return True
        referenced = self.referenced_signals()
        if any(("jailbreak", s.name) in referenced and s.method != "rules" for s in self.signals.jailbreak):
            return True
        if any(p.type == "jailbreak" and p.method != "rules" for ps in self.plugin_lists().values() for p in ps):
            return True
        if self.cache_is_semantic():
            return True
        return any(getattr(d.algorithm, "needs_semantics", False) for d in self.decisions)

    @property
    def one_message(self) -> bool:
        """True when Envoy sends a routed request as one ext_proc message (the body, headers as attributes)."""
        mode = self.routing.ext_proc_messages
        return mode == "one" or (mode == "auto" and not self.two_message_reasons())

    def two_message_reasons(self) -> list[str]:
        """The features of this config that need the request-headers message."""
        reasons = []
        if self.routing.failure_mode_allow:
            reasons.append("routing.failure_mode_allow (a body-less POST looks like a request let through)")
        if self.endpoint_picking.enabled:
            reasons.append("endpoint_picking (the picked host travels in envoy.lb metadata)")
        if any(getattr(p, "remove", None) and p.type == "header_mutation" for ps in self.plugin_lists().values() for p in ps):
            reasons.append("a header_mutation plugin that removes headers")
        return reasons

    def plugin_lists(self) -> dict[str, list[Plugin]]:
        """decision name (or default / passthrough) -> the plugins its requests run: top-level ones first."""
        return {
            "default": list(self.plugins),
            "passthrough": list(self.plugins),
            **{d.name: [*self.plugins, *d.plugins] for d in self.decisions},
        }

    def cache_settings(self) -> dict[str, CacheSettings]:
        """decision name -> its response cache settings, for the decisions whose requests are cached."""
        settings = {name: decision_cache(self.cache, plugins) for name, plugins in self.plugin_lists().items()}
        return {name: s for name, s in settings.items() if s is not None}

    def cache_is_semantic(self) -> bool:
        """True when the response cache may match some request semantically (it needs the encoder)."""
        return any(s.semantic for s in self.cache_settings().values())

    def referenced_signals(self) -> set[tuple[str, str]]:
        """(type, name) of every signal some decision's rules test; only these are ever built."""
        return {(c.type, c.name) for c in self.conditions()}

    def conditions(self) -> list[Condition]:
        """Every condition of every decision's rules."""
        return [c for d in self.decisions for _, c in conditions_of(d.rules, "")]


