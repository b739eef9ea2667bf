"""The ext_proc `Process` stream: one HTTP request per gRPC stream, one reply per message.

A stream whose first message has `observability_mode` set comes from the response-observer filter
and is handed to `ResponseObserver`; it gets no replies.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from time import perf_counter_ns

import grpc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc
from envoy.service.ext_proc.v3.external_processor_pb2 import HttpHeaders, ProcessingRequest

from llmswitch import headers as names
from llmswitch.budget import BUDGET_HEADER
from llmswitch.extproc import responses
from llmswitch.extproc.observer import ObserverTasks, ResponseObserver
from llmswitch.pipeline import RoutePlan, RoutingPipeline
from llmswitch.protocols.errors import RequestError, bad_request, headers_too_large, insufficient_quota, internal_error
from llmswitch.protocols.openai_models import is_models_list, model_list
from llmswitch.telemetry import Telemetry

log = logging.getLogger(__name__)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Envoy checks the header map after the router's mutations against the limits it applies to clients.
# Requests too close to them get a 431 here, instead of a 503 when the routed headers are added.
_ROUTER_HEADERS = 8
_ROUTER_HEADER_BYTES = 4096


class RequestProcessor:
    """Handles the messages of one stream, pinned to the pipeline that was current when it began."""

    def __init__(self, pipeline: RoutingPipeline, telemetry: Telemetry) -> None:
        self.pipeline = pipeline
        self.telemetry = telemetry
        self.started_ns = perf_counter_ns()
        self.headers: dict[str, str] = {}
        self.path = "/"
        self.method = "GET"
        self.body_chunks: list[bytes] = []

    async def handle(self, request: ProcessingRequest) -> bytes:
        """The serialized reply to one message (see `responses`)."""
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            return self._on_request_headers(request.request_headers)
        if kind == "request_body":
            body = request.request_body
            self.body_chunks.append(body.body)
            if not body.end_of_stream:
                return responses.CONTINUE_REQUEST_BODY
            return await self._on_request_body(b"".join(self.body_chunks))
        if kind == "response_headers":
            return responses.CONTINUE_RESPONSE_HEADERS
        if kind == "response_body":
            return responses.CONTINUE_RESPONSE_BODY
        if kind == "request_trailers":
            return responses.CONTINUE_REQUEST_TRAILERS
        return responses.CONTINUE_RESPONSE_TRAILERS

    def _on_request_headers(self, message: HttpHeaders) -> bytes:
        self.started_ns = perf_counter_ns()
        header_map = message.headers
        # Envoy sends values in raw_value; `value` is read only when that is empty.
        self.headers = {e.key: e.raw_value.decode("utf-8", "replace") or e.value for e in header_map.headers}
        self.path = self.headers.get(":path", "/")
        self.method = self.headers.get(":method", "GET")
        routing = self.pipeline.config.routing
        count = len(header_map.headers)
        if count > routing.max_request_headers - _ROUTER_HEADERS:
            return self._reject(headers_too_large(f"{count} headers; reduce them"))
        # Serialized size: the key and value bytes Envoy counts, plus a few bytes of framing per header.
        size = header_map.ByteSize()
        if size > routing.max_request_headers_kb * 1024 - _ROUTER_HEADER_BYTES:
            return self._reject(headers_too_large(f"{size} bytes of headers; reduce them"))
        if not message.end_of_stream:
            return responses.CONTINUE_REQUEST_HEADERS
        if is_models_list(self.method, self.path):
            return responses.immediate(200, model_list(self.pipeline.config), "llmswitch_models")
        if self.method in _BODY_METHODS:
            return self._reject(bad_request("empty_body", "The request body is empty; expected a JSON object."))
        # A body-less request (GET, DELETE, ...) goes to the default route; drop any spoofed routing header.
        return responses.continue_request_headers(names.routing_headers(self.pipeline.config.routing.cluster_header))

    async def _on_request_body(self, body: bytes) -> bytes:
        try:
            plan = await self.pipeline.route_async(self.headers, body, self.path)
            budget_header = None
            if self.pipeline.budget.active:
                plan, budget_header = await self._charge_budget(plan)
        except RequestError as err:
            return self._reject(err)
        except Exception:
            log.exception("routing failed for %s %s", self.method, self.path)
            return self._reject(internal_error())
        set_headers = responses.routing_headers(
            self.pipeline.config.routing.cluster_header,
            plan.model.cluster,
            plan.model.name,
            plan.decision,
            self.pipeline.upstream_auth.get(plan.model.name),
        )
        trace_headers = self.telemetry.routed(self.headers, self.started_ns, plan)
        if trace_headers:
            set_headers += responses.set_headers(trace_headers.items())
        if budget_header is not None:
            set_headers += responses.set_headers(((BUDGET_HEADER, budget_header),))
        return responses.routed_body(set_headers, plan.body)

    async def _charge_budget(self, plan: RoutePlan) -> tuple[RoutePlan, str]:
        """Reserve the request's estimated cost; past a limit, downgrade or reject as configured."""
        guard = self.pipeline.budget
        tenant = guard.tenant(self.headers)
        reservation = await guard.admit(tenant, plan.model, plan.prompt_tokens, plan.max_completion_tokens)
        if reservation is None:
            if guard.config.on_exceeded == "reject":
                raise insufficient_quota()
            cheaper = self.pipeline.downgrade_model()
            self.telemetry.metrics.budget_downgrades.inc()
            plan = dataclasses.replace(
                plan,
                model=cheaper,
                body=self.pipeline.render_body(plan.data, cheaper),
                reason=f"{plan.reason}; budget exhausted, downgraded to {cheaper.name}",
            )
            # Past the limit spend is still tracked: charged without a limit check.
            reservation = await guard.charge(tenant, cheaper, plan.prompt_tokens, plan.max_completion_tokens)
        return plan, reservation.header()

    def _reject(self, err: RequestError) -> bytes:
        self.telemetry.rejected(self.headers, self.started_ns, err)
        return responses.error(err)


class ExternalProcessor(external_processor_pb2_grpc.ExternalProcessorServicer):
    def __init__(self, current_pipeline: Callable[[], RoutingPipeline], telemetry: Telemetry) -> None:
        self._current_pipeline = current_pipeline
        self._telemetry = telemetry
        self.observer_tasks = ObserverTasks()

    async def Process(
        self, request_iterator: AsyncIterator[ProcessingRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        pipeline = self._current_pipeline()
        stats = self._telemetry.metrics.routes
        stats.stream_started()
        end = "reset"
        try:
            processor: RequestProcessor | None = None
            observer: ResponseObserver | None = None
            # A routing stream ends when Envoy half-closes it; the generated Envoy config makes Envoy
            # wait for this status instead of resetting the stream (see envoy_config.RUNTIME_FLAGS).
            # Envoy closes an observer stream only after a delay, so the router ends it as soon as the
            # response is complete. Either way the status meets a live stream: a reset one would
            # leak the status batch in grpc.aio (grpc/grpc#43360).
            async for request in request_iterator:
                if observer is None and processor is None:
                    if request.observability_mode:
                        observer = ResponseObserver(pipeline, self._telemetry)
                    else:
                        processor = RequestProcessor(pipeline, self._telemetry)
                if observer is not None:
                    if observer.observe(request):
                        break
                elif processor is not None:
                    yield await processor.handle(request)
            end = "closed"
        finally:
            stats.stream_ended(end)
            if observer is not None:
                self.observer_tasks.spawn(observer)


SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"


def add_to_server(processor: external_processor_pb2_grpc.ExternalProcessorServicer, server: grpc.aio.Server) -> None:
    """Registers ext_proc's `Process` with no response serializer: its replies are serialized already."""
    handlers = {
        "Process": grpc.stream_stream_rpc_method_handler(
            processor.Process, request_deserializer=ProcessingRequest.FromString, response_serializer=None
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
