"""The upstream filters' ext_proc streams: one attempt of a request at one model.

`llmswitch.egress` opens one per attempt of a request the routing step marked for translation, and
per failover attempt on a chain's cluster (`xds.cluster_name` names the chain). The attempt's model
comes from the host's metadata (`xds.upstream_host_metadata`, `filter_metadata.llmswitch.model`).
`llmswitch.rate_limited` opens one with the response headers of a 429 answer alone: the model cools
down for the time it asked, and the answer gets a `Retry-After` if it has none.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from envoy.config.core.v3.base_pb2 import Metadata
from envoy.extensions.filters.http.ext_proc.v3.processing_mode_pb2 import ProcessingMode
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMutation,
    HeadersResponse,
    ProcessingRequest,
    ProcessingResponse,
)
from google.protobuf import text_format

from llmswitch.extproc import responses
from llmswitch.extproc.observer import header_map
from llmswitch.pipeline import RoutingPipeline
from llmswitch.pipeline.upstream import UpstreamAttempt
from llmswitch.protocols.errors import RequestError, internal_error

log = logging.getLogger(__name__)

RateLimited = Callable[[str, float], None]
"""Told of each 429 cooldown: (model, seconds)."""

HOST_METADATA = "xds.upstream_host_metadata"
CLUSTER_NAME = "xds.cluster_name"
_ATTRIBUTES = "envoy.filters.http.ext_proc"
_NO_RESPONSE = ProcessingMode(
    response_header_mode=ProcessingMode.SKIP, response_body_mode=ProcessingMode.NONE
)
_RESPONSE_HEADERS_ONLY = ProcessingMode(
    request_body_mode=ProcessingMode.BUFFERED,
    response_header_mode=ProcessingMode.SEND,
    response_body_mode=ProcessingMode.NONE,
)
"""A failover attempt at a model of the client's API: its body is rewritten, its answer only marked."""


def is_upstream_stream(first: ProcessingRequest) -> bool:
    attributes = first.attributes.get(_ATTRIBUTES)
    return attributes is not None and HOST_METADATA in attributes.fields


def attempt_cluster(first: ProcessingRequest) -> str:
    """The cluster the attempt was sent to (a failover chain's), when Envoy sent its name."""
    fields = first.attributes[_ATTRIBUTES].fields
    return fields[CLUSTER_NAME].string_value if CLUSTER_NAME in fields else ""


def attempt_model(first: ProcessingRequest) -> str:
    """The model of the host this attempt goes to, from its metadata ("" if it has none)."""
    metadata = Metadata()
    text_format.Parse(first.attributes[_ATTRIBUTES].fields[HOST_METADATA].string_value, metadata)
    llmswitch = metadata.filter_metadata.get("llmswitch")
    return llmswitch.fields["model"].string_value if llmswitch is not None and "model" in llmswitch.fields else ""


def _mutation(set_headers: list[tuple[str, str]], remove: list[str]) -> HeaderMutation:
    return HeaderMutation(set_headers=[responses.header(k, v) for k, v in set_headers], remove_headers=remove)


class UpstreamProcessor:
    """Handles the messages of one upstream attempt's stream."""

    def __init__(self, pipeline: RoutingPipeline, rate_limited: RateLimited | None = None) -> None:
        self.pipeline = pipeline
        self.attempt: UpstreamAttempt | None = None
        self.body_chunks: list[bytes] = []
        self.rate_limited = rate_limited
        self.model = ""

    def handle(self, request: ProcessingRequest) -> bytes:
        kind = request.WhichOneof("request")
        try:
            if kind == "request_headers":
                return self._on_request_headers(request)
            if kind == "request_body":
                body = request.request_body
                self.body_chunks.append(body.body)
                if not body.end_of_stream:
                    return responses.CONTINUE_REQUEST_BODY
                return self._on_request_body(b"".join(self.body_chunks))
            if kind == "response_headers":
                if self.attempt is None and not self.model:  # a stream that starts here: a 429 answer
                    return self._on_rate_limited(request)
                return self._on_response_headers(request)
            if kind == "response_body":
                return self._on_response_body(request.response_body.body, request.response_body.end_of_stream)
        except RequestError as err:
            return responses.error_reply(err, self.attempt.client_api if self.attempt else "chat")
        except Exception:
            log.exception("translating an upstream attempt failed")
            return responses.error_reply(internal_error(), self.attempt.client_api if self.attempt else "chat")
        return responses.CONTINUE_REQUEST_TRAILERS if kind == "request_trailers" else responses.CONTINUE_RESPONSE_TRAILERS

    def _on_request_headers(self, request: ProcessingRequest) -> bytes:
        headers = header_map(request.request_headers)
        self.model = attempt_model(request)
        self.attempt = self.pipeline.upstream_attempt(headers, self.model, attempt_cluster(request))
        reply = ProcessingResponse(request_headers=HeadersResponse())
        if self.attempt is None or not self.attempt.sees_response:
            reply.mode_override.CopyFrom(_NO_RESPONSE)
        elif not self.attempt.translates_response:
            reply.mode_override.CopyFrom(_RESPONSE_HEADERS_ONLY)
        return reply.SerializeToString()

    def _on_rate_limited(self, request: ProcessingRequest) -> bytes:
        """A 429 from the attempt's model: cool it down; the answer tells the client when to retry."""
        headers = header_map(request.response_headers)
        model = attempt_model(request)
        if model not in self.pipeline.router.models:
            return responses.CONTINUE_RESPONSE_HEADERS
        seconds = self.pipeline.health.rate_limited(model, headers)
        if not seconds:  # health.rate_limits off
            return responses.CONTINUE_RESPONSE_HEADERS
        if self.rate_limited is not None:
            self.rate_limited(model, seconds)
        if "retry-after" in headers:
            return responses.CONTINUE_RESPONSE_HEADERS
        retry = [("retry-after", str(max(1, math.ceil(seconds))))]
        common = CommonResponse(header_mutation=_mutation(retry, []))
        return ProcessingResponse(response_headers=HeadersResponse(response=common)).SerializeToString()

    def _on_request_body(self, body: bytes) -> bytes:
        if self.attempt is None:
            return responses.CONTINUE_REQUEST_BODY
        upstream = self.attempt.request(body)
        set_headers = [*upstream.set_headers, ("content-length", str(len(upstream.body)))]
        common = CommonResponse(
            header_mutation=_mutation(set_headers, upstream.remove_headers),
            body_mutation=BodyMutation(body=upstream.body),
        )
        return ProcessingResponse(request_body=BodyResponse(response=common)).SerializeToString()

    def _on_response_headers(self, request: ProcessingRequest) -> bytes:
        if self.attempt is None:
            return responses.CONTINUE_RESPONSE_HEADERS
        headers = header_map(request.response_headers)
        status = int(headers.get(":status", "0") or 0)
        set_headers, remove = self.attempt.response_headers(status, headers.get("content-type", ""))
        common = CommonResponse(header_mutation=_mutation(set_headers, remove))
        return ProcessingResponse(response_headers=HeadersResponse(response=common)).SerializeToString()

    def _on_response_body(self, chunk: bytes, end_of_stream: bool) -> bytes:
        if self.attempt is None:
            return responses.CONTINUE_RESPONSE_BODY
        out = self.attempt.response_body(chunk, end_of_stream)
        common = CommonResponse(body_mutation=BodyMutation(body=out))
        return ProcessingResponse(response_body=BodyResponse(response=common)).SerializeToString()
