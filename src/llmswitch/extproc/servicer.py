"""The ext_proc `Process` stream: one HTTP request per gRPC stream, one reply per message.

A routing stream starts with the request headers (two-message mode) or with the buffered body,
which then carries the headers routing reads as request attributes (one-message mode, see
`attributes`). A stream whose first message has `observability_mode` set comes from the
response-observer filter and is handed to `ResponseObserver`; it gets no replies. One whose first
message carries the upstream host's metadata comes from a model cluster's upstream filter:
`UpstreamProcessor` translates that attempt. One whose request body streams full duplex comes from a Gateway API
Inference Extension gateway (llmswitch as its endpoint picker): `StreamedRequestProcessor`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from time import perf_counter_ns

import grpc
from envoy.config.core.v3.base_pb2 import HeaderValue
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc
from envoy.service.ext_proc.v3.external_processor_pb2 import HttpHeaders, ProcessingRequest

from llmswitch.extproc import responses
from llmswitch.extproc.attributes import request_headers
from llmswitch.extproc.observer import ObserverTasks, ResponseObserver
from llmswitch.extproc.streamed import StreamedRequestProcessor, is_full_duplex
from llmswitch.extproc.upstream import UpstreamProcessor, is_upstream_stream
from llmswitch.pipeline import Forward, HttpRequest, RoutingPipeline, abandon
from llmswitch.telemetry import Telemetry

log = logging.getLogger(__name__)


class RequestProcessor:
    """Handles the messages of one stream, pinned to the pipeline that was current when it began."""

    def __init__(self, pipeline: RoutingPipeline) -> None:
        self.pipeline = pipeline
        self.started_ns = perf_counter_ns()
        self.headers: dict[str, str] = {}
        self.path = "/"
        self.method = "GET"
        self.body_chunks: list[bytes] = []
        self.forwarded: Forward | None = None
        self.one_message = False
        self.answered = False
        """Set with the stream's last reply (the body's, or one to a body-less or refused request):
        the generated config has Envoy send nothing more on a routing stream."""

    @classmethod
    def for_body(cls, pipeline: RoutingPipeline, first: ProcessingRequest) -> RequestProcessor:
        """A one-message stream: the headers routing reads come as attributes of its (first) body message."""
        processor = cls(pipeline)
        processor.one_message = True
        processor.headers = request_headers(first)
        processor.path = processor.headers.get(":path", "/")
        processor.method = processor.headers.get(":method", "POST")
        return processor

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
            self.answered = True
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
        # Serialized size: the key and value bytes Envoy counts, plus a few bytes of framing per header.
        repeated = _repeated(header_map.headers) if len(self.headers) < len(header_map.headers) else ()
        request = HttpRequest(self.headers, self.path, self.method, started_ns=self.started_ns)
        refused = self.pipeline.check_headers(len(header_map.headers), header_map.ByteSize(), repeated, request)
        if refused is not None:
            self.answered = True
            return responses.reply(refused)
        if not message.end_of_stream:
            return responses.CONTINUE_REQUEST_HEADERS
        self.answered = True
        return responses.reply(self.pipeline.headers_only(request))

    async def _on_request_body(self, body: bytes) -> bytes:
        joined = tuple(name for name, value in self.headers.items() if "," in value) if self.one_message else ()
        request = HttpRequest(self.headers, self.path, self.method, body, self.started_ns, joined)
        result = await self.pipeline.process(request)
        if isinstance(result, Forward):
            self.forwarded = result
        return responses.reply(result, self.pipeline.config.routing.cluster_header, self.one_message)

    def abandon(self) -> None:
        """Envoy reset the stream (its message timeout): a routed request never went upstream."""
        if self.forwarded is not None:
            abandon(self.forwarded.on_abandon)


def _repeated(headers: Iterable[HeaderValue]) -> list[str]:
    """Names that occur more than once (Envoy sends each occurrence of a header as its own entry)."""
    seen: set[str] = set()
    repeated = []
    for entry in headers:
        if entry.key in seen:
            repeated.append(entry.key)
        seen.add(entry.key)
    return repeated


class ExternalProcessor(external_processor_pb2_grpc.ExternalProcessorServicer):
    def __init__(self, current_pipeline: Callable[[], RoutingPipeline], telemetry: Telemetry) -> None:
        self._current_pipeline = current_pipeline
        self._telemetry = telemetry
        self.observer_tasks = ObserverTasks()

    def _cooled_down(self, model: str, seconds: float) -> None:
        self._telemetry.metrics.model_cooldowns.labels(model, "rate_limited").inc()

    async def Process(
        self, request_iterator: AsyncIterator[ProcessingRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        pipeline = self._current_pipeline()
        stats = self._telemetry.metrics.routes
        stats.stream_started()
        end = "reset"
        try:
            processor: RequestProcessor | None = None
            streamed: StreamedRequestProcessor | None = None
            observer: ResponseObserver | None = None
            upstream: UpstreamProcessor | None = None
            # Envoy sends nothing on a routing stream after the message its last reply answers (the
            # generated config skips the response), so the router ends the stream with that reply:
            # waiting for Envoy's half-close cost one more read per request (10-30% of a no-op's
            # requests/s). Envoy closes an observer stream only after a delay, so the router ends it
            # as soon as the response is complete. The status meets a live stream (the generated
            # config makes Envoy close streams gracefully, envoy_config.RUNTIME_FLAGS): a reset one
            # would leak the status batch in grpc.aio (grpc/grpc#43360).
            async for request in request_iterator:
                if processor is not None:
                    yield await processor.handle(request)
                    if processor.answered:
                        break
                elif streamed is not None:
                    for reply in await streamed.handle(request):
                        yield reply
                elif observer is not None:
                    if observer.observe(request):
                        break
                elif upstream is not None:
                    yield upstream.handle(request)
                elif request.observability_mode:
                    observer = ResponseObserver(pipeline, self._telemetry)
                    if observer.observe(request):
                        break
                elif request.HasField("request_body"):  # one-message mode; upstream streams start with headers
                    processor = RequestProcessor.for_body(pipeline, request)
                    yield await processor.handle(request)
                    if processor.answered:
                        break
                elif is_upstream_stream(request):
                    upstream = UpstreamProcessor(pipeline, self._cooled_down)
                    yield upstream.handle(request)
                elif is_full_duplex(request):  # a GIE gateway: llmswitch as its endpoint picker
                    streamed = StreamedRequestProcessor(pipeline, self._telemetry)
                    for reply in await streamed.handle(request):
                        yield reply
                else:
                    processor = RequestProcessor(pipeline)
                    yield await processor.handle(request)
                    if processor.answered:
                        break
            end = "closed"
        finally:
            stats.stream_ended(end)
            if end == "reset" and processor is not None:
                processor.abandon()
            if observer is not None:
                self.observer_tasks.spawn(observer)
            elif streamed is not None and streamed.observer.model is not None:
                self.observer_tasks.spawn(streamed.observer)


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
