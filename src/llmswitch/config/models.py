"""The `models:` section: each model server, its API, credentials, prices and replicas."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from llmswitch.config.base import HeaderName, Name, StrictModel
from llmswitch.config.plugins import ReasoningFamily

ROUTED_PATHS = frozenset({"/v1/chat/completions", "/v1/messages", "/v1/responses"})
"""The client API paths routed by content (`protocols.paths` maps each to its API)."""
_PASSTHROUGH_PATTERN = r"^(POST|PUT|PATCH) /v1(/[A-Za-z0-9._~-]+)+$"


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
