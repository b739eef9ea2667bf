"""Config of in-request failover (`routing.failover`) and of rate-limit cooldowns (`health.rate_limits`)."""

from __future__ import annotations

from pydantic import Field

from llmswitch.config.base import StrictModel


class FailoverConfig(StrictModel):
    """Cross-model failover inside one request: Envoy sends a request whose model failed before answering to
    the next model of its chain (the decision's other modelRefs, routing.fallback_models, default_model)."""

    enabled: bool = Field(True, description="Generate a failover cluster per chain; off: retries stay in the model's cluster.")
    max_attempts: int = Field(3, ge=2, le=10, description="Models tried per request, the first one included.")
    per_try_timeout_s: float = Field(
        0,
        ge=0,
        description="Envoy's per-attempt timeout: an attempt still unanswered after it moves on to the next model. "
        "It bounds the whole attempt, streamed body included: keep it above the longest answer. 0: none.",
    )
    retry_on: str = Field(
        "connect-failure,refused-stream,reset,retriable-status-codes",
        description="Envoy retry_on conditions that move a request to the next model.",
    )
    retriable_status_codes: list[int] = Field(
        [429, 500, 502, 503, 504], description="Statuses that move a request to the next model."
    )


class RateLimitConfig(StrictModel):
    """A 429 cools its model down for the time the upstream asked; it is not counted as a failure."""

    enabled: bool = True
    default_cooldown_s: float = Field(
        5, gt=0, description="Cooldown of a 429 without Retry-After or x-ratelimit-reset-* hints."
    )
    max_cooldown_s: float = Field(300, gt=0, description="Upper bound of a cooldown an upstream asks for.")
    redis_url: str | None = Field(
        None,
        description="Share cooldowns with every router worker and replica through this Redis (redis://host:port/db); "
        "null: each process learns them from its own traffic.",
    )
    sync_interval_s: float = Field(0.25, gt=0, le=10, description="How often a process reads the shared cooldowns.")
