"""The ext_proc `Process` stream: one HTTP request per gRPC stream, one reply per message."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from time import perf_counter_ns

import grpc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc
from envoy.service.ext_proc.v3.external_processor_pb2 import HttpHeaders, ProcessingRequest, ProcessingResponse

from llmswitch import headers as names
from llmswitch.extproc import responses
from llmswitch.pipeline import RoutePlan, RoutingPipeline
from llmswitch.protocols.errors import RequestError, bad_request, internal_error
from llmswitch.protocols.openai_models import is_models_list, model_list
from llmswitch.telemetry import Telemetry

log = logging.getLogger(__name__)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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
        self.plan: RoutePlan | None = None

    def handle(self, request: ProcessingRequest) -> ProcessingResponse:
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            return self._on_request_headers(request.request_headers)
        if kind == "request_body":
            body = request.request_body
            self.body_chunks.append(body.body)
            if not body.end_of_stream:
                return responses.CONTINUE_REQUEST_BODY
            return self._on_request_body(b"".join(self.body_chunks))
        if kind == "response_headers":
            return self._on_response_headers()
        if kind == "response_body":
            return responses.CONTINUE_RESPONSE_BODY
        if kind == "request_trailers":
            return responses.CONTINUE_REQUEST_TRAILERS
        return responses.CONTINUE_RESPONSE_TRAILERS

    def _on_request_headers(self, message: HttpHeaders) -> ProcessingResponse:
        self.started_ns = perf_counter_ns()
        for entry in message.headers.headers:
            self.headers[entry.key] = entry.raw_value.decode("utf-8", "replace") if entry.raw_value else entry.value
        self.path = self.headers.get(":path", "/")
        self.method = self.headers.get(":method", "GET")
        if not message.end_of_stream:
            return responses.CONTINUE_REQUEST_HEADERS
        if is_models_list(self.method, self.path):
            return responses.immediate(200, model_list(self.pipeline.config), "llmswitch_models")
        if self.method in _BODY_METHODS:
            return self._reject(bad_request("empty_body", "The request body is empty; expected a JSON object."))
        # A body-less request (GET, DELETE, ...) goes to the default route; drop any spoofed routing header.
        return responses.continue_request_headers(names.routing_headers(self.pipeline.config.routing.cluster_header))

    def _on_request_body(self, body: bytes) -> ProcessingResponse:
        try:
            plan = self.plan = self.pipeline.route(self.headers, body, self.path)
        except RequestError as err:
            return self._reject(err)
        except Exception:
            log.exception("routing failed for %s %s", self.method, self.path)
            return self._reject(internal_error())
        set_headers = responses.routing_headers(
            self.pipeline.config.routing.cluster_header, plan.model.cluster, plan.model.name, plan.decision
        )
        trace_headers = self.telemetry.routed(self.headers, self.started_ns, plan)
        if trace_headers:
            set_headers += tuple(responses.header(k, v) for k, v in trace_headers.items())
        return responses.routed_body(set_headers, plan.body)

    def _reject(self, err: RequestError) -> ProcessingResponse:
        self.telemetry.rejected(self.headers, self.started_ns, err)
        return responses.error(err)

    def _on_response_headers(self) -> ProcessingResponse:
        if self.plan is None:
            return responses.CONTINUE_RESPONSE_HEADERS
        return responses.response_headers(self.plan.model.name, self.plan.decision)


class ExternalProcessor(external_processor_pb2_grpc.ExternalProcessorServicer):
    def __init__(self, current_pipeline: Callable[[], RoutingPipeline], telemetry: Telemetry) -> None:
        self._current_pipeline = current_pipeline
        self._telemetry = telemetry

    async def Process(
        self, request_iterator: AsyncIterator[ProcessingRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ProcessingResponse]:
        processor = RequestProcessor(self._current_pipeline(), self._telemetry)
        inflight = self._telemetry.metrics.inflight
        inflight.inc()
        try:
            async for request in request_iterator:
                yield processor.handle(request)
        finally:
            inflight.dec()
