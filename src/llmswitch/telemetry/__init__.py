"""Observability of routed requests: Prometheus metrics, OpenTelemetry traces, JSON access logs.

Telemetry settings are read at start-up; a config reload does not change them.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmswitch import headers as names
from llmswitch.config.schema import TelemetryConfig
from llmswitch.pipeline import Respond, RoutePlan
from llmswitch.protocols.errors import RequestError
from llmswitch.telemetry.access_log import AccessLog
from llmswitch.telemetry.metrics import RouterMetrics
from llmswitch.telemetry.tracing import RouteTracer, tracing_enabled

_ROUTED_FIELDS = (("decision", names.DECISION), ("model", names.SELECTED_MODEL), ("safety", names.SAFETY))
# Access-log field -> the plan's trace attribute it copies (what the cache and the safety plugins did).
_PLAN_FIELDS = (("cache", "llmswitch.cache"), ("safety", "llmswitch.safety"))


class Telemetry:
    def __init__(self, config: TelemetryConfig, metrics: RouterMetrics | None = None, log_responses: bool = False) -> None:
        """`log_responses`: the response observer writes the access line of forwarded requests, with the
        status the client got; otherwise it is written at routing time, without a status."""
        self.metrics = metrics or RouterMetrics()
        self.tracer = RouteTracer(config.tracing) if tracing_enabled(config.tracing) else None
        self.access_log = AccessLog() if config.access_log else None
        self.log_responses = log_responses

    def routed(self, headers: Mapping[str, str], started_ns: int, plan: RoutePlan) -> dict[str, str]:
        """Record a routed request; returns headers (trace context) to add to the upstream request."""
        timings = plan.timings
        self.metrics.routes.routed(plan.decision, plan.model.name, timings.end - timings.start, timings.signals)
        if plan.semantics_timed_out:
            self.metrics.semantic_timeouts.inc()
        if self.access_log is not None and not self.log_responses:
            self._access(headers, started_ns, None, plan)
        if self.tracer is None:
            return {}
        return self.tracer.record(headers, started_ns, plan=plan, prompt=plan.prompt)

    def answered(self, headers: Mapping[str, str], started_ns: int, plan: RoutePlan, answer: Respond) -> None:
        """Record a routed request that an action answered itself (a cache hit)."""
        if self.access_log is not None:
            self._access(headers, started_ns, answer.status, plan)
        if self.tracer is not None:
            self.tracer.record(headers, started_ns, plan=plan, prompt=plan.prompt)

    def _access(self, headers: Mapping[str, str], started_ns: int, status: int | None, plan: RoutePlan) -> None:
        extra = {key: str(plan.attributes[name]) for key, name in _PLAN_FIELDS if name in plan.attributes}
        self.access_log.request(headers, started_ns, status, decision=plan.decision, model=plan.model.name, **extra)  # type: ignore[union-attr]

    def rejected(self, headers: Mapping[str, str], started_ns: int, error: RequestError) -> None:
        self.metrics.errors.labels(error.code).inc()
        if self.access_log is not None:
            self.access_log.request(headers, started_ns, error.status, error=error.code)
        if self.tracer is not None:
            self.tracer.record(headers, started_ns, error=error)

    def response(
        self,
        model: str,
        status: int,
        usage: tuple[int, int] | None,
        cost: float | None,
        ttfb_s: float | None,
        duration_s: float,
    ) -> None:
        """Record what a model answered (from the response observer)."""
        metrics = self.metrics
        metrics.model_responses.labels(model, f"{status // 100}xx").inc()
        if usage is not None:
            metrics.model_tokens.labels(model, "prompt").inc(usage[0])
            metrics.model_tokens.labels(model, "completion").inc(usage[1])
        if cost is not None:
            metrics.model_cost.labels(model).inc(cost)
        if ttfb_s is not None:
            metrics.model_ttfb_seconds.labels(model).observe(ttfb_s)
        metrics.model_duration_seconds.labels(model).observe(duration_s)

    def responded(self, headers: Mapping[str, str], started_ns: int, status: int) -> None:
        """The access line of a request the router let through, written when its response ended (from the
        observer, which sees the routed request's headers); status 0: no response (the client went away)."""
        if self.access_log is None or not self.log_responses:
            return
        fields = {key: headers[name] for key, name in _ROUTED_FIELDS if name in headers}
        self.access_log.request(headers, started_ns, status, **fields)

    def shutdown(self) -> None:
        if self.access_log is not None:
            self.access_log.flush()
        if self.tracer is not None:
            self.tracer.shutdown()


__all__ = ["RouterMetrics", "Telemetry"]
