"""The response observer: an observability-mode ext_proc stream (Envoy never waits for it).

It sees the routed request's headers (after the router set them), the response headers and the
streamed response body, and when the response ends it records usage, cost and latency per model,
feeds model health, settles the request's budget reservation, and stores a cache miss's answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from time import perf_counter_ns

from envoy.service.ext_proc.v3.external_processor_pb2 import HttpHeaders, ProcessingRequest

from llmswitch import headers as names
from llmswitch.budget import BUDGET_HEADER, Reservation, request_cost
from llmswitch.envoy_clusters import SERVED_ENDPOINT_KEY
from llmswitch.cache.recorder import CacheRecorder
from llmswitch.pipeline import RoutingPipeline
from llmswitch.pipeline.upstream import FAILOVER_HEADER
from llmswitch.protocols.usage import SseUsageScanner, Usage, json_usage
from llmswitch.telemetry import Telemetry
from llmswitch.tokens import BYTES_PER_TOKEN

log = logging.getLogger(__name__)


def header_map(message: HttpHeaders) -> dict[str, str]:
    return {
        h.key: h.raw_value.decode("utf-8", "replace") if h.raw_value else h.value for h in message.headers.headers
    }


def served_endpoint(request: ProcessingRequest, namespace: str) -> str | None:
    """The host Envoy's override-host policy sent the request to (`selected_host_key`), if it reported one."""
    metadata = request.metadata_context.filter_metadata
    if namespace not in metadata:
        return None
    fields = metadata[namespace].fields
    return fields[SERVED_ENDPOINT_KEY].string_value or None if SERVED_ENDPOINT_KEY in fields else None


@dataclass
class Outcome:
    model: str
    status: int
    complete: bool
    usage: Usage | None
    ttfb_s: float | None
    duration_s: float
    usage_estimated: bool = False
    failed: tuple[str, ...] = ()
    """The models the request failed over from, in the order they were tried."""


class ResponseObserver:
    def __init__(self, pipeline: RoutingPipeline, telemetry: Telemetry) -> None:
        self.pipeline = pipeline
        self.telemetry = telemetry
        self.guard = pipeline.budget
        self.started_ns = perf_counter_ns()
        self.model: str | None = None
        self.request_headers: dict[str, str] = {}
        self.prompt_estimate = 0
        self.reservation: Reservation | None = None
        self.status = 0
        self.response_headers: dict[str, str] = {}
        self.ttfb_ns: int | None = None
        self.sse: SseUsageScanner | None = None
        self.body = bytearray()
        self.body_overflow = False
        self.complete = False
        self.finished = False
        self.tenant: str | None = None
        self.endpoint: str | None = None
        """The replica that served the request, as Envoy's load balancer reported it (endpoint picking)."""
        self.recorder: CacheRecorder | None = None

    def observe(self, request: ProcessingRequest) -> bool:
        """Take one message; True once the response has ended (Envoy closes the stream only later)."""
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            self.started_ns = perf_counter_ns()
            headers = header_map(request.request_headers)
            self.request_headers = headers
            self.model = headers.get(names.SELECTED_MODEL)
            length = headers.get("content-length", "")
            self.prompt_estimate = int(length) // BYTES_PER_TOKEN if length.isdigit() else 0
            budget = headers.get(BUDGET_HEADER)
            self.reservation = Reservation.from_header(budget) if budget else None
            self.tenant = self.guard.tenant(headers)
            ticket = headers.get(names.CACHE_KEY)
            if ticket and self.pipeline.cache is not None:
                self.recorder = self.pipeline.cache.recorder(ticket)
        elif kind == "response_headers":
            self.ttfb_ns = perf_counter_ns() - self.started_ns
            self.endpoint = served_endpoint(request, self.pipeline.config.endpoint_picking.metadata_namespace)
            headers = header_map(request.response_headers)
            self.response_headers = headers
            self.status = int(headers.get(":status", "0") or 0)
            content_type = headers.get("content-type", "")
            if content_type.startswith("text/event-stream"):
                self.sse = SseUsageScanner()
            if self.recorder is not None:
                self.recorder.on_headers(self.status, content_type)
            self.complete = request.response_headers.end_of_stream
        elif kind == "response_body":
            self._on_body(request.response_body.body, request.response_body.end_of_stream)
        return self.complete

    def _on_body(self, chunk: bytes, end_of_stream: bool) -> None:
        if self.recorder is not None:
            self.recorder.feed(chunk)
        if self.sse is not None:
            self.sse.feed(chunk)
        elif not self.body_overflow:
            if len(self.body) + len(chunk) > self.pipeline.config.accounting.max_response_bytes:
                self.body_overflow = True
                self.body.clear()
            else:
                self.body += chunk
        self.complete = self.complete or end_of_stream

    def outcome(self) -> Outcome | None:
        if self.model is None or not self.status:
            return None  # not a routed request, or no response at all
        usage = self.sse.usage if self.sse is not None else (json_usage(bytes(self.body)) if self.body else None)
        estimated = False
        if usage is None and self.sse is not None and self.status < 400:
            # A stream without its usage (cut short, or never asked for): what was sent, estimated.
            usage, estimated = (self.prompt_estimate, -(-self.sse.text_chars // BYTES_PER_TOKEN)), True
        ttfb = self.ttfb_ns / 1e9 if self.ttfb_ns is not None else None
        duration = (perf_counter_ns() - self.started_ns) / 1e9
        model, failed = self._answered_by()
        return Outcome(model, self.status, self.complete, usage, ttfb, duration, estimated, failed)

    def _answered_by(self) -> tuple[str, tuple[str, ...]]:
        """(the model that answered, the models its failover chain tried before it)."""
        assert self.model is not None
        cluster = self.request_headers.get(self.pipeline.config.routing.cluster_header, "")
        chain = self.pipeline.egress.chains.by_cluster(cluster) if cluster else None
        if chain is None:
            return self.model, ()
        reported = self.response_headers.get(names.RESPONSE_MODEL, "")
        if reported not in chain.models:  # response headers off: the failover header counts the failures
            failed = [m for m in self.response_headers.get(FAILOVER_HEADER, "").split(",") if m]
            reported = chain.models[len(failed)] if len(failed) < len(chain.models) else self.model
        return reported, chain.after(reported)

    async def finish(self) -> None:
        if self.recorder is not None:
            await self.recorder.finish(self.complete)
        if self.request_headers:
            self.telemetry.responded(self.request_headers, self.started_ns, self.status)
        outcome = self.outcome()
        if outcome is None:
            if self.reservation is not None:
                await self.guard.settle(self.reservation, 0.0)  # never reached a model: refund
            return
        try:
            model = self.pipeline.model(outcome.model)
        except KeyError:
            return  # the model left the config during a reload
        metrics = self.telemetry.metrics
        health = self.pipeline.health
        self._record_health(outcome)
        if self.endpoint is not None and self.pipeline.endpoints is not None:
            self.pipeline.endpoints.served(outcome.model, self.endpoint, outcome.status, outcome.duration_s)
        metrics.model_healthy.labels(outcome.model).set(1 if health.is_healthy(outcome.model) else 0)
        if outcome.usage is not None and min(outcome.usage) < 0:  # a faulty upstream: counted, not trusted
            metrics.usage_invalid.labels(outcome.model).inc()
            outcome.usage = (max(outcome.usage[0], 0), max(outcome.usage[1], 0))
        cost = request_cost(model, *outcome.usage) if outcome.usage is not None else None
        self.telemetry.response(outcome.model, outcome.status, outcome.usage, cost, outcome.ttfb_s, outcome.duration_s)
        if outcome.usage_estimated:
            metrics.usage_estimated.labels(outcome.model).inc()
        if cost is not None and self.tenant is not None:
            metrics.tenant_cost.labels(metrics.tenant_label(self.tenant)).inc(cost)
            self.guard.seen(self.tenant)
        if self.reservation is not None:
            if outcome.status >= 400:
                actual = 0.0
            elif cost is not None:
                actual = cost
            else:
                actual = self.reservation.amount  # no usage reported: the estimate stands
            await self.guard.settle(self.reservation, actual)

    def _record_health(self, outcome: Outcome) -> None:
        """The failed models count failures (a 429 already cooled its model: not a failure); a 429 answer
        cools its model down for the time it asked."""
        health, metrics = self.pipeline.health, self.telemetry.metrics
        for failed in outcome.failed:
            if health.cooldowns.remaining(failed) == 0 and health.record(failed, ok=False):
                metrics.model_cooldowns.labels(failed, "failures").inc()
            metrics.model_healthy.labels(failed).set(1 if health.is_healthy(failed) else 0)
        if outcome.failed:
            metrics.failovers.labels(outcome.failed[0], outcome.model).inc()
        if outcome.status == 429:
            # On a chain, its upstream filter saw the 429 first.
            if health.cooldowns.remaining(outcome.model) == 0 and health.rate_limited(outcome.model, self.response_headers):
                metrics.model_cooldowns.labels(outcome.model, "rate_limited").inc()
        elif health.record(outcome.model, ok=outcome.status < 500):
            metrics.model_cooldowns.labels(outcome.model, "failures").inc()


class ObserverTasks:
    """Runs each observer's `finish` once, in a task of its own that outlives the stream."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, observer: ResponseObserver) -> None:
        if observer.finished:
            return
        observer.finished = True
        task = asyncio.get_running_loop().create_task(observer.finish())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("response accounting failed", exc_info=task.exception())

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
