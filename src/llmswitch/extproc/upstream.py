"""The upstream filter's ext_proc stream: one attempt of a translated request at one model.

Envoy opens it from the model cluster's upstream filter chain, per attempt, only for requests the
routing step marked for translation. The attempt's model comes from the host's metadata
(`xds.upstream_host_metadata`, `filter_metadata.llmswitch.model`).
"""

from __future__ import annotations

import logging

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

HOST_METADATA = "xds.upstream_host_metadata"
_ATTRIBUTES = "envoy.filters.http.ext_proc"
_NO_RESPONSE = ProcessingMode(
    response_header_mode=ProcessingMode.SKIP, response_body_mode=ProcessingMode.NONE
)


def is_upstream_stream(first: ProcessingRequest) -> bool:
    attributes = first.attributes.get(_ATTRIBUTES)
    return attributes is not None and HOST_METADATA in attributes.fields


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

    def __init__(self, pipeline: RoutingPipeline) -> None:
        self.pipeline = pipeline
        self.attempt: UpstreamAttempt | None = None
        self.body_chunks: list[bytes] = []

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
        self.attempt = self.pipeline.upstream_attempt(headers, attempt_model(request))
        reply = ProcessingResponse(request_headers=HeadersResponse())
        if self.attempt is None or not self.attempt.translates_response:
            reply.mode_override.CopyFrom(_NO_RESPONSE)
        return reply.SerializeToString()

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
