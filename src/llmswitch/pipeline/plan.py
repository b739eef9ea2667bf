"""What the pipeline works on and what it produces: one HTTP request, its route plan, and the reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmswitch.config.models import ModelConfig
from llmswitch.protocols.view import ClientApi

if TYPE_CHECKING:
    from llmswitch.request import Semantics


@dataclass(frozen=True)
class HttpRequest:
    """One client request as Envoy delivered it (headers lower-case, body buffered)."""

    headers: Mapping[str, str]
    path: str
    method: str
    body: bytes = b""
    started_ns: int = 0
    joined: tuple[str, ...] = ()
    """Headers whose value may join several (one-message mode: Envoy joins a repeated header's values
    with commas), checked like repeated headers."""
    endpoint_subset: tuple[str, ...] | None = None
    """Behind a GIE gateway: the endpoints it allows (its subset hint); None: every replica of the model."""
    endpoint_required: bool = False
    """Behind a GIE gateway, which cannot balance by itself: a routed request must name an endpoint."""


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
    """The body for the chosen model, or None when it goes upstream unchanged (set by the egress step)."""
    requested_model: str
    timings: RouteTimings
    prompt: str = ""
    """The user's text, for traces that opt in to prompts."""
    prompt_tokens: int = 0
    """Estimated prompt tokens, for budget reservations."""
    max_completion_tokens: int | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    """The parsed body; the actions may change it, the egress step renders it."""
    semantics_timed_out: bool = False
    """Routed without the prompt's semantics: the encoder did not answer within semantics.timeout_ms."""
    api: ClientApi | None = "chat"
    """The client API the request came in on; None for a path that is not routed by content."""
    semantics: Semantics | None = None
    """The prompt's semantics, when routing computed them (the response cache reuses the embedding)."""
    notes: list[str] = field(default_factory=list)
    """What the actions changed (plugin fixes, clamps), for the trace."""
    attributes: dict[str, str | float] = field(default_factory=dict)
    """Trace attributes the actions add (the cache result)."""
    memo: dict[Any, object] = field(default_factory=dict, repr=False)
    """What routing's signals computed (`RouteRequest.memo`): the safety plugins reuse their detectors' results."""


@dataclass
class Forward:
    """Send the request upstream: the routing headers for `plan`, these extra headers, maybe a new body."""

    plan: RoutePlan
    body: bytes | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    credential: tuple[str, str] | None = None
    """The upstream credential header (name, value) of the chosen model, if it has one."""
    remove_headers: list[str] = field(default_factory=list)
    """Client request headers not to send upstream."""
    model_headers: tuple[tuple[str, str], ...] = ()
    """Headers fixed per model (the GIE model-name header): the reply caches them serialized."""
    metadata: dict[str, dict[str, str]] | None = None
    """Envoy dynamic metadata to set, by namespace (the picked endpoint, GIE's `envoy.lb`)."""
    on_abandon: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)
    """Undoes the actions' commitments (a budget reservation) if Envoy never sends the request upstream."""
    cluster: str = ""
    """The Envoy cluster to send it to: a failover chain's (`pipeline.failover`); empty: the model's own."""


@dataclass(frozen=True)
class Respond:
    """Answer the client directly (an error, a model list, a cached answer); nothing goes upstream."""

    status: int
    body: bytes
    details: str
    """Why, for Envoy's response-code details (`llmswitch_<code>`)."""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Continue:
    """Let a body-less request through unchanged, with these headers removed."""

    remove_headers: tuple[str, ...] = ()
