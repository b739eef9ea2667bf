"""The ext_proc stream of a Gateway API Inference Extension gateway: llmswitch as an endpoint picker.

GIE gateways run their endpoint picker (EPP) in FULL_DUPLEX_STREAMED mode: Envoy streams the request
headers and body chunks without waiting for answers, and the picker answers once it has decided:
a headers reply (the routing headers, the picked endpoint in `x-gateway-destination-endpoint`, the
same in the `envoy.lb` dynamic metadata), then the body as one streamed body reply. Response headers,
body chunks and trailers are answered one for one, each body chunk passed through unchanged at once,
so token streams are not held. The response is also observed, as the observer filter does in
llmswitch's own Envoy: usage, cost, model health, budget settlement, the endpoint that served it.

The router picks among the model's replicas (or the gateway's subset hint, `envoy.lb.subset_hint`),
and a request must name an endpoint here: with no fresh metrics it gets a random replica, with no
replica at all a 503, as the GIE protocol asks.
"""

from __future__ import annotations

from time import perf_counter_ns

from envoy.service.ext_proc.v3.external_processor_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMutation,
    HeadersResponse,
    ProcessingRequest,
    ProcessingResponse,
    StreamedBodyResponse,
)

from llmswitch import headers as names
from llmswitch.budget import Reservation
from llmswitch.extproc import responses
from llmswitch.extproc.observer import ResponseObserver, header_map
from llmswitch.pipeline import Continue, Forward, HttpRequest, Respond, RoutingPipeline
from llmswitch.protocols.errors import too_large
from llmswitch.telemetry import Telemetry

SUBSET_NAMESPACE = "envoy.lb.subset_hint"
SUBSET_KEY = "x-gateway-destination-endpoint-subset"
FULL_DUPLEX_STREAMED = 4
"""ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED"""


def is_full_duplex(request: ProcessingRequest) -> bool:
    """The first message of a stream says (Envoy's `protocol_config`) whether bodies stream full duplex."""
    return request.protocol_config.request_body_mode == FULL_DUPLEX_STREAMED


def endpoint_subset(request: ProcessingRequest) -> tuple[str, ...] | None:
    """The endpoints a GIE gateway allows for this request (its subset hint), if it sent one."""
    metadata = request.metadata_context.filter_metadata
    if SUBSET_NAMESPACE not in metadata or SUBSET_KEY not in metadata[SUBSET_NAMESPACE].fields:
        return None
    value = metadata[SUBSET_NAMESPACE].fields[SUBSET_KEY]
    if value.HasField("list_value"):
        return tuple(v.string_value for v in value.list_value.values if v.string_value)
    return tuple(a.strip() for a in value.string_value.split(",") if a.strip())


def _streamed_body(body: bytes, end_of_stream: bool, response: bool = False) -> bytes:
    common = CommonResponse(
        body_mutation=BodyMutation(streamed_response=StreamedBodyResponse(body=body, end_of_stream=end_of_stream))
    )
    if response:
        return ProcessingResponse(response_body=BodyResponse(response=common)).SerializeToString()
    return ProcessingResponse(request_body=BodyResponse(response=common)).SerializeToString()


def _request_headers_reply(set_headers: bytes, remove: tuple[str, ...], metadata: bytes = b"") -> bytes:
    mutation = HeaderMutation.FromString(set_headers)
    mutation.remove_headers.extend(remove)
    reply = ProcessingResponse(
        request_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation, clear_route_cache=True))
    )
    return reply.SerializeToString() + metadata


class StreamedRequestProcessor:
    """One GIE request stream: headers and body in, the pick out; then the response passed through."""

    def __init__(self, pipeline: RoutingPipeline, telemetry: Telemetry) -> None:
        self.pipeline = pipeline
        self.observer = ResponseObserver(pipeline, telemetry)
        self.started_ns = perf_counter_ns()
        self.headers: dict[str, str] = {}
        self.subset: tuple[str, ...] | None = None
        self.body = bytearray()
        self.routed = False

    async def handle(self, request: ProcessingRequest) -> list[bytes]:
        """The replies this message releases (none while the request is still arriving)."""
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            return await self._on_request_headers(request)
        if kind == "request_body":
            if self.routed:
                return []
            self.body += request.request_body.body
            if len(self.body) > self.pipeline.max_body_bytes:
                self.routed = True
                error = too_large(len(self.body), self.pipeline.max_body_bytes)
                return [responses.immediate(error.status, error.body(), f"llmswitch_{error.code}")]
            return await self._route() if request.request_body.end_of_stream else []
        if kind == "request_trailers":
            replies = [] if self.routed else await self._route(end_of_stream=False)
            return [*replies, responses.CONTINUE_REQUEST_TRAILERS]
        self.observer.observe(request)
        if kind == "response_headers":
            return [responses.CONTINUE_RESPONSE_HEADERS]
        if kind == "response_body":
            body = request.response_body
            return [_streamed_body(body.body, body.end_of_stream, response=True)]
        return [responses.CONTINUE_RESPONSE_TRAILERS]

    async def _on_request_headers(self, request: ProcessingRequest) -> list[bytes]:
        self.started_ns = perf_counter_ns()
        message = request.request_headers
        self.headers = header_map(message)
        self.subset = endpoint_subset(request)
        refused = self.pipeline.check_headers(len(message.headers.headers), message.headers.ByteSize())
        if refused is not None:
            self.routed = True
            return [responses.reply(refused)]
        if not message.end_of_stream:
            return []
        self.routed = True
        request_ = HttpRequest(self.headers, self.headers.get(":path", "/"), self.headers.get(":method", "GET"))
        result = self.pipeline.headers_only(request_)
        if isinstance(result, Respond):
            return [responses.reply(result)]
        return [self._bodyless(result)]

    def _bodyless(self, result: Continue) -> bytes:
        """A body-less request (GET ...) goes to a replica of the default model, as the gateway needs one."""
        picker = self.pipeline.endpoints
        pick = None
        if picker is not None:
            pick = picker.pick(self.pipeline.config.default_model, subset=self.subset, required=True)
        if pick is None:
            return _request_headers_reply(b"", result.remove_headers)
        picking = self.pipeline.config.endpoint_picking
        value = ",".join(pick.addresses)
        metadata = responses.dynamic_metadata({picking.metadata_namespace: {picking.destination_header: value}})
        return _request_headers_reply(responses.set_headers([(picking.destination_header, value)]), (), metadata)

    async def _route(self, end_of_stream: bool = True) -> list[bytes]:
        self.routed = True
        body = bytes(self.body)
        request = HttpRequest(
            self.headers,
            self.headers.get(":path", "/"),
            self.headers.get(":method", "POST"),
            body,
            self.started_ns,
            endpoint_subset=self.subset,
            endpoint_required=True,
        )
        result = await self.pipeline.process(request)
        if isinstance(result, Respond):
            return [responses.reply(result)]
        self._observe_routed(result)
        plan = result.plan
        new_body = result.body if result.body is not None else body
        headers = responses.routing_headers(
            self.pipeline.config.routing.cluster_header,
            plan.model.cluster,
            plan.model.name,
            plan.decision,
            result.credential,
            result.model_headers,
        )
        headers += responses.set_headers([*result.headers, ("content-length", str(len(new_body)))])
        metadata = responses.dynamic_metadata(result.metadata) if result.metadata else b""
        return [_request_headers_reply(headers, (), metadata), _streamed_body(new_body, end_of_stream)]

    def _observe_routed(self, forward: Forward) -> None:
        """What the observer filter would read from the routed request's headers."""
        observer = self.observer
        observer.started_ns = perf_counter_ns()
        observer.model = forward.plan.model.name
        observer.tenant = observer.guard.tenant(self.headers)
        budget = next((value for name, value in forward.headers if name == names.BUDGET), None)
        observer.reservation = Reservation.from_header(budget) if budget else None
