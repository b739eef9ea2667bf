"""OpenTelemetry traces: one span per routed request, children for signals, decision and selection.

The pipeline only takes perf_counter marks; spans are built afterwards from them, so routing pays
for tracing only when a request is sampled. The request span joins the client's trace
(W3C traceparent/tracestate) and its context is injected into the upstream request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmswitch.config.schema import TracingConfig
from llmswitch.pipeline import RoutePlan
from llmswitch.protocols.errors import RequestError

_PROPAGATOR = TraceContextTextMapPropagator()
_OTEL_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracing_enabled(config: TracingConfig) -> bool:
    if config.enabled is not None:
        return config.enabled
    return any(os.environ.get(name) for name in _OTEL_ENDPOINT_VARIABLES)


class _Clock:
    """Maps perf_counter_ns marks to wall-clock ns, as spans need epoch times."""

    def __init__(self) -> None:
        self.offset = time.time_ns() - time.perf_counter_ns()

    def wall(self, perf_ns: int) -> int:
        return perf_ns + self.offset


class RouteTracer:
    def __init__(self, config: TracingConfig) -> None:
        sampler = ParentBased(TraceIdRatioBased(config.sampling_ratio)) if config.sampling_ratio is not None else None
        resource = Resource.create({"service.name": config.service_name})
        self.provider = TracerProvider(resource=resource, sampler=sampler)
        # Imported only when tracing is on: it needs opentelemetry-proto's messages, which an older copy
        # bundled in xds-protos can shadow (scripts/setup.sh reinstalls opentelemetry-proto last).
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=config.endpoint, insecure=True) if config.endpoint else OTLPSpanExporter()
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("llmswitch")
        self.include_prompt = config.include_prompt
        self._clock = _Clock()

    def record(
        self,
        headers: Mapping[str, str],
        started_ns: int,
        plan: RoutePlan | None = None,
        error: RequestError | None = None,
        prompt: str | None = None,
    ) -> dict[str, str]:
        """Emit the spans of one request; returns the trace headers to send upstream."""
        wall = self._clock.wall
        parent = _PROPAGATOR.extract(headers)
        span = self.tracer.start_span(
            "llmswitch route", context=parent, kind=SpanKind.SERVER, start_time=wall(started_ns)
        )
        if not span.is_recording():
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
            return carrier
        context = trace.set_span_in_context(span)
        span.set_attribute("gen_ai.operation.name", "chat")
        if plan is not None:
            self._routed(span, context, plan)
        if error is not None:
            span.set_attribute("error.type", error.code)
            span.set_attribute("http.response.status_code", error.status)
            span.set_status(Status(StatusCode.ERROR, error.message))
        if prompt is not None and self.include_prompt:
            span.set_attribute("llmswitch.prompt", prompt)
        carrier = {}
        _PROPAGATOR.inject(carrier, context)
        span.end(end_time=wall(plan.timings.end) if plan is not None else time.time_ns())
        return carrier

    def _routed(self, span: trace.Span, context: Context, plan: RoutePlan) -> None:
        wall = self._clock.wall
        span.set_attributes(
            {
                "gen_ai.request.model": plan.requested_model,
                "gen_ai.response.model": plan.model.name,
                "llmswitch.decision": plan.decision,
                "llmswitch.model": plan.model.name,
                "llmswitch.algorithm": plan.algorithm,
                "llmswitch.route_reason": plan.reason,
                "llmswitch.signals.matched": [f"{t}:{n}" for t, n, _ in plan.signals],
                "llmswitch.signals.confidence": [c for _, _, c in plan.signals],
                **plan.attributes,
            }
        )
        if plan.notes:
            span.set_attribute("llmswitch.notes", plan.notes)
        timings = plan.timings
        for signal_type, (first, total) in timings.signals.items():
            child = self.tracer.start_span(f"signal {signal_type}", context=context, start_time=wall(first))
            child.set_attribute("llmswitch.signal.type", signal_type)
            child.end(end_time=wall(first + total))
        for name, (begin, end) in (("decision", timings.decision), ("selection", timings.selection)):
            if begin:
                child = self.tracer.start_span(name, context=context, start_time=wall(begin))
                if name == "decision":
                    child.set_attribute("llmswitch.decision", plan.decision)
                else:
                    child.set_attribute("llmswitch.algorithm", plan.algorithm)
                child.end(end_time=wall(end))

    def shutdown(self) -> None:
        self.provider.shutdown()
