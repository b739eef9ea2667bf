"""The configuration schema: the single source of truth for the YAML file and its JSON Schema.

Every model forbids unknown keys. Cross-references (signals named by rules, models named by
decisions) are checked after the structure, with the YAML path of each offending value.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from llmswitch.config.algorithms import (
    ARTIFACT_FILES,
    Algorithm,
    ModelSelectionConfig,
    StaticAlgorithm,
    artifact_params,
)
from llmswitch.config.base import StrictModel
from llmswitch.safety.pii import PII_TYPES
from llmswitch.config.cache import CacheConfig, CacheSettings, decision_cache
from llmswitch.config.failover import FailoverConfig, RateLimitConfig
from llmswitch.config.plugins import Plugin, ReasoningFamily, ReasoningPlugin, plugin_problems
from llmswitch.cpus import available_cpus
from llmswitch.training.mmlu_categories import CATEGORIES as DOMAIN_CATEGORIES

CONFIG_VERSION = "v1"
ROUTED_PATHS = frozenset({"/v1/chat/completions", "/v1/messages", "/v1/responses"})
"""The client API paths routed by content (`protocols.paths` maps each to its API)."""
MIB = 1024 * 1024
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
_HEADER_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
_PASSTHROUGH_PATTERN = r"^(POST|PUT|PATCH) /v1(/[A-Za-z0-9._~-]+)+$"
RESERVED_DECISIONS = frozenset({"default", "passthrough"})
MAX_WORKERS = 64


Name = Annotated[str, Field(pattern=_NAME_PATTERN, max_length=128)]
HeaderName = Annotated[str, Field(pattern=_HEADER_PATTERN, description="Lower-case HTTP header name.")]
Port = Annotated[int, Field(ge=1, le=65535)]


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


class Pricing(StrictModel):
    input_per_1m: float = Field(ge=0, description="Price per million prompt tokens.")
    output_per_1m: float = Field(ge=0, description="Price per million completion tokens.")


def _check_host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"endpoint must be host:port, got {value!r}")
    return value


HostPort = Annotated[str, AfterValidator(_check_host_port)]


class EndpointMetricsConfig(StrictModel):
    """Where and under which Prometheus names a model server reports its load.

    `engine` picks the names vLLM, SGLang or TGI export; `waiting`, `running` and `kv_cache`
    replace them (each a list of candidates: the first one a server exports is read).
    """

    engine: Literal["vllm", "sglang", "tgi"] = "vllm"
    path: str = Field("/metrics", pattern=r"^/", description="The metrics path on each endpoint.")
    waiting: list[str] | None = Field(None, min_length=1, description="Gauge of queued requests.")
    running: list[str] | None = Field(None, min_length=1, description="Gauge of requests being served.")
    kv_cache: list[str] | None = Field(None, description="Gauge of KV-cache use, 0..1 ([] if the server has none).")


class AffinityConfig(StrictModel):
    """Requests of one conversation prefer the endpoint that served its prefix (its KV cache holds it)."""

    enabled: bool = True
    session_header: HeaderName | None = Field(
        "x-session-id", description="A request header naming the session; without it the conversation prefix is used."
    )
    max_queue_excess: int = Field(
        2, ge=0, description="Keep affinity while the endpoint's queue is at most this much longer than the best one's."
    )
    max_entries: int = Field(100_000, ge=1, description="Conversations remembered (least recently used dropped).")
    ttl_s: float = Field(600, gt=0, description="How long a conversation is remembered after its last request.")


class EndpointPickingConfig(StrictModel):
    """Load-aware picking among the endpoints of models declared with `endpoints:` (the list form)."""

    enabled: bool = False
    metrics: EndpointMetricsConfig = EndpointMetricsConfig()
    scrape_interval_s: float = Field(0.25, gt=0, le=60, description="How often each endpoint's metrics are read.")
    scrape_timeout_s: float = Field(0.5, gt=0, le=60, description="A scrape that takes longer fails.")
    stale_after_s: float = Field(
        2.0, gt=0, le=600, description="Metrics older than this are stale: the endpoint is ranked after fresh ones."
    )
    dns_refresh_s: float = Field(5.0, gt=0, description="How often endpoint host names are resolved again.")
    latency_weighting: bool = Field(
        True,
        description="Count each replica's queue in time: (queue + 1) x its recent response time, so a slow "
        "replica's short queue is not taken for a short wait (needs accounting.enabled, which measures them).",
    )
    affinity: AffinityConfig = AffinityConfig()
    fallback_policy: Literal["round_robin", "least_request"] = Field(
        "round_robin", description="Envoy's balancing when the router names no endpoint (all metrics stale, router down)."
    )
    destination_header: HeaderName = Field(
        "x-gateway-destination-endpoint", description="The header carrying the picked endpoints (GIE protocol)."
    )
    metadata_namespace: str = Field(
        "envoy.lb", min_length=1, description="Dynamic metadata namespace of the picked endpoints (GIE protocol)."
    )

    @model_validator(mode="after")
    def _stale_after_interval(self) -> EndpointPickingConfig:
        if self.stale_after_s <= self.scrape_interval_s:
            raise ValueError("stale_after_s must exceed scrape_interval_s")
        return self


class ModelConfig(StrictModel):
    name: Name
    endpoint: HostPort | None = Field(None, description="host:port of the model's server.")
    endpoints: list[HostPort] | None = Field(
        None,
        min_length=1,
        description="Several replicas (host:port each; a DNS name may resolve to several). With endpoint_picking "
        "enabled the router picks one per request by load.",
    )
    metrics: EndpointMetricsConfig | None = Field(
        None, description="This model's servers' metrics, when they differ from endpoint_picking.metrics."
    )
    upstream_model: str | None = Field(
        None, min_length=1, description="The model id sent to the upstream in the body; defaults to name."
    )
    tls: bool = Field(False, description="Connect to the endpoint over TLS (hosted APIs), with SNI set to its host.")
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding this model's API key; the router sends it upstream as a bearer token.",
    )
    description: str = ""
    pricing: Pricing | None = None
    context_window: int | None = Field(None, ge=1, description="Maximum tokens the model accepts.")
    api: Literal["openai", "anthropic"] = Field(
        "openai",
        description="The API the model speaks: openai (chat completions) or anthropic (Messages). Requests in "
        "another client API are translated, and so are their responses.",
    )
    native_responses: bool = Field(
        False, description="openai models: serve POST /v1/responses natively instead of translating it to chat."
    )
    base_path: str = Field(
        "/v1", pattern=r"^(/[A-Za-z0-9._~-]+)*$", description="Path prefix of the model's API (/v1 for both APIs)."
    )
    auth_header: Literal["authorization", "x-api-key", "api-key"] | None = Field(
        None,
        description="How api_key_env's key is sent: authorization (Bearer), x-api-key or api-key (the raw key). "
        "Default: authorization for openai models, x-api-key for anthropic ones.",
    )
    anthropic_version: str = Field(
        "2023-06-01", description="anthropic-version sent to anthropic models (unless the client sent one)."
    )
    default_max_tokens: int = Field(
        4096,
        ge=1,
        description="max_tokens for anthropic models when a translated request names none (Messages requires one).",
    )
    reasoning_family: ReasoningFamily | None = Field(
        None,
        description="How the reasoning plugin talks to this model: openai, qwen3, deepseek, anthropic, or a custom spec.",
    )
    passthrough_paths: list[Annotated[str, Field(pattern=_PASSTHROUGH_PATTERN)]] = Field(
        [],
        description="Other endpoints this model serves with its api_key_env credential, as 'METHOD /path' "
        "(e.g. 'POST /v1/embeddings'): a request with a JSON body naming the model on exactly that method and "
        "path goes to it with the key, below base_path. A model with a key gets no other unrouted request.",
    )

    @field_validator("passthrough_paths")
    @classmethod
    def _passthrough_paths_are_not_routed(cls, value: list[str]) -> list[str]:
        routed = sorted(e for e in value if e.split(" ", 1)[1] in ROUTED_PATHS)
        if routed:
            raise ValueError(f"{', '.join(routed)}: routed by content already, not a passthrough path")
        return value

    @model_validator(mode="after")
    def _one_endpoint_form(self) -> ModelConfig:
        if (self.endpoint is None) == (self.endpoints is None):
            raise ValueError("set either endpoint (one server) or endpoints (a list of replicas)")
        if self.endpoints is not None and len(set(self.endpoints)) != len(self.endpoints):
            raise ValueError("endpoints lists the same host:port twice")
        return self

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every endpoint, IPv6 brackets removed."""
        return [(e.rpartition(":")[0].strip("[]"), int(e.rpartition(":")[2])) for e in self.endpoints or [self.endpoint]]

    @property
    def host(self) -> str:
        """The (first) endpoint's host."""
        return self.addresses[0][0]

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    @property
    def replicated(self) -> bool:
        """Declared with `endpoints:` and not TLS (a hosted API has no load metrics): endpoint picking applies."""
        return self.endpoints is not None and not self.tls

    @property
    def body_model(self) -> str:
        return self.upstream_model or self.name

    @cached_property
    def cluster(self) -> str:
        """The Envoy cluster that serves this model."""
        return "model_" + re.sub(r"[^A-Za-z0-9_.-]", "_", self.name)

    def wire_api(self, client_api: str) -> str:
        """The API this model is sent a request in, for a request that came in on `client_api`."""
        if self.api == "anthropic":
            return "messages"
        return "responses" if client_api == "responses" and self.native_responses else "chat"

    @property
    def key_header(self) -> str:
        return self.auth_header or ("x-api-key" if self.api == "anthropic" else "authorization")

    @cached_property
    def passthrough_endpoints(self) -> frozenset[tuple[str, str]]:
        """(method, path) of `passthrough_paths`."""
        return frozenset(tuple(entry.split(" ", 1)) for entry in self.passthrough_paths)  # type: ignore[misc]


class KeywordSignal(StrictModel):
    name: Name
    keywords: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    case_sensitive: bool = False
    operator: Literal["any", "all"] = Field("any", description="Match when any (or all) keywords occur.")


class ContextSignal(StrictModel):
    name: Name
    min_tokens: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _has_bound(self) -> ContextSignal:
        if self.min_tokens is None and self.max_tokens is None:
            raise ValueError("set min_tokens, max_tokens or both")
        if self.min_tokens is not None and self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ValueError("min_tokens must not exceed max_tokens")
        return self


class HeaderSignal(StrictModel):
    """Matches a request header: equal to a value, one of several, a regex, or merely present."""

    name: Name
    header: HeaderName
    equals: str | None = None
    one_of: list[str] | None = Field(None, min_length=1)
    regex: str | None = None

    @model_validator(mode="after")
    def _one_matcher(self) -> HeaderSignal:
        given = [key for key in ("equals", "one_of", "regex") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"use only one of equals, one_of, regex (got {', '.join(given)})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from exc
        return self


class DomainSignal(StrictModel):
    """The domain classifier's probability for one category (or the sum over several)."""

    name: Name
    categories: list[str] | None = Field(
        None, min_length=1, description=f"Defaults to [name]. One of: {', '.join(DOMAIN_CATEGORIES)}."
    )
    threshold: float = Field(0.5, ge=0, le=1, description="Match when the probability reaches this.")

    @model_validator(mode="after")
    def _known_categories(self) -> DomainSignal:
        unknown = sorted(set(self.domain_categories) - set(DOMAIN_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown domain categories {unknown}; known: {', '.join(DOMAIN_CATEGORIES)}")
        return self

    @property
    def domain_categories(self) -> list[str]:
        return self.categories or [self.name]


class EmbeddingSignal(StrictModel):
    """Cosine similarity between the prompt and example phrases."""

    name: Name
    candidates: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    threshold: float = Field(0.6, ge=-1, le=1)
    aggregation: Literal["mean", "max", "any"] = Field(
        "max", description="mean: the mean similarity must reach threshold; max/any: the best one must."
    )


COMPLEXITY_LEVELS = ("easy", "medium", "hard")
# ISO 639-1 codes the language detector (lingua) knows.
LANGUAGE_CODES = (
    "af ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fr ga gu he hi hr hu hy id is it ja ka kk ko "
    "la lg lt lv mi mk mn mr ms nb nl nn pa pl pt ro ru sk sl sn so sq sr st sv sw ta te th tl tn tr ts uk ur "
    "vi xh yo zh zu"
).split()
ExamplePrompt = Annotated[str, Field(min_length=1)]


class ComplexityExamples(StrictModel):
    """Labelled example prompts per level; they replace the shipped set."""

    easy: list[ExamplePrompt] = Field(min_length=1)
    medium: list[ExamplePrompt] = Field(min_length=1)
    hard: list[ExamplePrompt] = Field(min_length=1)


class ComplexitySignal(StrictModel):
    """The prompt's difficulty level, by its similarity to labelled example prompts."""

    name: Name
    level: Literal["easy", "medium", "hard"]
    threshold: float = Field(
        0.0, ge=0, le=1, description="Match when this level is predicted with at least this confidence."
    )
    examples: ComplexityExamples | None = Field(None, description="Default: the shipped example prompts.")


class LanguageSignal(StrictModel):
    """The prompt's natural language, detected offline."""

    name: Name
    languages: list[Literal[tuple(LANGUAGE_CODES)]] = Field(  # type: ignore[valid-type]
        min_length=1, description="ISO 639-1 codes; the signal matches when the detected language is one of them."
    )
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="Also require the summed confidence of these languages to reach this."
    )


class ClassifierSignal(StrictModel):
    """A trained text classifier (`llmswitch train classifier`); conditions name one of its labels."""

    name: Name
    model_dir: str = Field(description="The folder `llmswitch train classifier` wrote.")
    threshold: float = Field(0.5, ge=0, le=1, description="Match when the label's probability reaches this.")

    @property
    def path(self) -> Path:
        return Path(self.model_dir).expanduser()

    def labels(self) -> list[str]:
        """The model's labels; raises OSError or ValueError when the folder holds no classifier."""
        labels = json.loads((self.path / "labels.json").read_text(encoding="utf-8"))
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("labels.json is not a list of strings")
        return labels


class JailbreakSignal(StrictModel):
    """Jailbreak and prompt-injection attempts (see docs/safety.md for how each method scores)."""

    name: Name
    method: Literal["model", "rules", "both"] = Field(
        "both", description="model: the trained head on the latest user turn (needs the encoder); rules: phrase "
        "rules on every user turn and tool result; both: either one."
    )
    threshold: float = Field(0.9, ge=0, le=1, description="Match when the head's probability reaches this.")


class PiiSignal(StrictModel):
    """Personal data and secrets in the request (see docs/safety.md for the entity types)."""

    name: Name
    types: list[Literal[PII_TYPES]] = Field(list(PII_TYPES), min_length=1)  # type: ignore[valid-type]
    scope: list[Literal["user", "tool"]] = Field(
        ["user", "tool"], min_length=1, description="user: user turns; tool: tool results and tool-call arguments."
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Ignore weaker candidates (a bare digit run scores 0.4).")


class SignalsConfig(StrictModel):
    keywords: list[KeywordSignal] = []
    context: list[ContextSignal] = []
    headers: list[HeaderSignal] = []
    domains: list[DomainSignal] = []
    embeddings: list[EmbeddingSignal] = []
    complexity: list[ComplexitySignal] = []
    language: list[LanguageSignal] = []
    classifiers: list[ClassifierSignal] = []
    jailbreak: list[JailbreakSignal] = []
    pii: list[PiiSignal] = []


# Condition `type` -> the `signals:` section that defines its names.
SIGNAL_SECTIONS: dict[str, str] = {
    "keyword": "keywords",
    "context": "context",
    "header": "headers",
    "domain": "domains",
    "embedding": "embeddings",
    "complexity": "complexity",
    "language": "language",
    "classifier": "classifiers",
    "jailbreak": "jailbreak",
    "pii": "pii",
}
# Condition types whose signals need the prompt's semantic analysis (the micro-batched ONNX pass).
SEMANTIC_SIGNAL_TYPES = frozenset({"domain", "embedding", "complexity", "classifier"})


class SemanticsConfig(StrictModel):
    """The embedding model behind semantic signals and feature-based selectors (loaded only if used)."""

    model_dir: str | None = Field(
        None, description="An exported model (`llmswitch models export`); default: the cache folder."
    )
    quantized: bool = Field(
        False,
        description="Without model_dir: use the int8 export (`llmswitch models export --quantize`), about twice "
        "as fast on CPU; see docs/domain-classifier.md for its accuracy.",
    )
    domain_head: str | None = Field(None, description="Domain classifier head; default: the one shipped.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    intra_op_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="CPU threads per inference, per router worker; capped at the CPUs per worker (CPUs // workers).",
    )
    max_tokens: int | None = Field(
        None,
        ge=8,
        le=8192,
        description="Tokens of each prompt the encoder reads (head and tail kept); default: the model's window. "
        "Encoder time grows with it: see docs/domain-classifier.md.",
    )
    max_batch_size: int = Field(16, ge=1, le=1024, description="Concurrent prompts embedded in one pass.")
    max_wait_ms: float = Field(
        1.0,
        ge=0,
        le=100,
        description="How long a batch waits to fill up; only after a batch of several prompts (a lone request runs at once).",
    )
    timeout_ms: float = Field(
        250,
        gt=0,
        le=60000,
        description="Past this (an overloaded encoder), route without semantics: semantic signals do not match "
        "and feature-based selectors take their first modelRef. Keep it below routing.message_timeout_ms.",
    )


class Condition(StrictModel):
    """A leaf of a rule tree: true when the named signal matched."""

    type: Literal[
        "keyword", "context", "header", "domain", "embedding", "complexity", "language", "classifier", "jailbreak", "pii"
    ]
    name: Name
    label: str | None = Field(None, min_length=1, description="For classifier conditions: the label to test.")

    @model_validator(mode="after")
    def _label_only_for_classifiers(self) -> Condition:
        if (self.type == "classifier") != (self.label is not None):
            raise ValueError("classifier conditions need a label; other types take none")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """The (type, name) a signal result is memoised under; a classifier's label is part of the name."""
        return (self.type, self.name if self.label is None else f"{self.name}={self.label}")


class RuleNode(StrictModel):
    operator: Literal["AND", "OR", "NOT"]
    conditions: list[RuleOrCondition] = Field(min_length=1)

    @model_validator(mode="after")
    def _not_is_unary(self) -> RuleNode:
        if self.operator == "NOT" and len(self.conditions) != 1:
            raise ValueError("NOT takes exactly one condition")
        return self


def _rule_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "rule" if "operator" in value else "condition"
    if isinstance(value, RuleNode):
        return "rule"
    if isinstance(value, Condition):
        return "condition"
    return None


RuleOrCondition = Annotated[
    Annotated[RuleNode, Tag("rule")] | Annotated[Condition, Tag("condition")],
    Discriminator(_rule_kind, custom_error_type="rule", custom_error_message="expected a rule or a condition"),
]
RuleNode.model_rebuild()


class ModelRef(StrictModel):
    model: Name
    weight: float = Field(1.0, gt=0, description="Relative share for the weighted algorithm.")


class Decision(StrictModel):
    name: Name
    description: str = ""
    priority: int = 0
    rules: RuleOrCondition
    model_refs: list[ModelRef] = Field(alias="modelRefs", min_length=1)
    algorithm: Algorithm = StaticAlgorithm()
    plugins: list[Plugin] = Field([], description="Applied in order to the upstream request, after the top-level ones.")


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
        problems = list(_reference_problems(self))
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
        return [c for d in self.decisions for _, c in _conditions(d.rules, "")]


def _duplicates(names: list[str]) -> list[int]:
    seen: set[str] = set()
    repeated = []
    for index, name in enumerate(names):
        if name in seen:
            repeated.append(index)
        seen.add(name)
    return repeated


def _conditions(node: RuleNode | Condition, path: str):
    if isinstance(node, Condition):
        yield path, node
        return
    for index, child in enumerate(node.conditions):
        yield from _conditions(child, f"{path}.conditions[{index}]")


def _reference_problems(config: Config):
    """Yield "path: message" for every name that is duplicated or does not resolve."""
    model_names = [m.name for m in config.models]
    for index in _duplicates(model_names):
        yield f"models[{index}].name: duplicate model {model_names[index]!r}"
    for index in _duplicates([d.name for d in config.decisions]):
        yield f"decisions[{index}].name: duplicate decision {config.decisions[index].name!r}"
    for section in SIGNAL_SECTIONS.values():
        signals = getattr(config.signals, section)
        for index in _duplicates([s.name for s in signals]):
            yield f"signals.{section}[{index}].name: duplicate signal {signals[index].name!r}"
    known_models = set(model_names)
    if config.default_model not in known_models:
        yield f"default_model: unknown model {config.default_model!r}"
    for index, fallback in enumerate(config.routing.fallback_models):
        if fallback not in known_models:
            yield f"routing.fallback_models[{index}]: unknown model {fallback!r}"
    downgrade = config.budget.downgrade_model
    if downgrade is not None and downgrade not in known_models:
        yield f"budget.downgrade_model: unknown model {downgrade!r}"
    for index, auto in enumerate(config.routing.auto_models):
        if auto in known_models:
            yield f"routing.auto_models[{index}]: {auto!r} is also a model name"
    if isinstance(config.router.workers, int) and config.router.workers > 1 and config.budget_in_memory():
        yield (
            "router.workers: budget limits kept in memory are per process, so each worker would allow the whole "
            "amount: use budget.store.type redis to share spend, or one worker (auto picks one)"
        )
    daily_limit = any(limit.scope == "daily" for limit in config.budget.limits)
    cluster_header = config.routing.cluster_header
    yield from plugin_problems(config.plugins, "plugins", cluster_header)
    if not config.accounting.enabled and config.cache_settings():
        yield "accounting.enabled: must be true while the response cache is on (the response observer stores its answers)"
    families = {m.name: m.reasoning_family for m in config.models}
    for d_index, decision in enumerate(config.decisions):
        path = f"decisions[{d_index}]"
        if decision.algorithm.type == "budget" and not daily_limit:
            yield f"{path}.algorithm: the budget algorithm reads daily spend: add a daily scope to budget.limits"
        if decision.name in RESERVED_DECISIONS:
            yield f"{path}.name: {decision.name!r} is reserved"
        learned = artifact_params(decision.algorithm, f"{path}.algorithm")
        if learned and learned[2] is None and config.model_selection.ml.models_path is None:
            params_path, kind, _ = learned
            yield (
                f"{params_path}: no trained file given: set {kind}.artifact, or model_selection.ml.models_path "
                f"to read <models_path>/{decision.name}/{ARTIFACT_FILES[kind]}"
            )
        for r_index, ref in enumerate(decision.model_refs):
            if ref.model not in known_models:
                yield f"{path}.modelRefs[{r_index}].model: unknown model {ref.model!r}"
        yield from plugin_problems(decision.plugins, f"{path}.plugins", cluster_header)
        for p_index, plugin in enumerate(decision.plugins):
            if isinstance(plugin, ReasoningPlugin) and not any(families.get(r.model) for r in decision.model_refs):
                yield f"{path}.plugins[{p_index}]: no modelRef of this decision sets models[].reasoning_family"
        for cond_path, condition in _conditions(decision.rules, f"{path}.rules"):
            section = SIGNAL_SECTIONS[condition.type]
            if condition.name not in {s.name for s in getattr(config.signals, section)}:
                yield f"{cond_path}.name: no {condition.type} signal named {condition.name!r} in signals.{section}"
            elif condition.type == "classifier":
                yield from _label_problems(config, cond_path, condition)


def _label_problems(config: Config, cond_path: str, condition: Condition):
    index, spec = next((i, s) for i, s in enumerate(config.signals.classifiers) if s.name == condition.name)
    try:
        labels = spec.labels()
    except (OSError, ValueError) as exc:
        yield f"signals.classifiers[{index}].model_dir: no classifier in {spec.model_dir!r} ({exc})"
        return
    if condition.label not in labels:
        yield f"{cond_path}.label: classifier {spec.name!r} has no label {condition.label!r} (labels: {', '.join(labels)})"
