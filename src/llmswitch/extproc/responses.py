"""Builders for ext_proc ProcessingResponse messages.

Envoy rules that hold here: header values go in `raw_value` only; routing needs
`clear_route_cache` in the same reply as the header mutation; a changed body comes with
its new `content-length`; errors are ImmediateResponses with an OpenAI-style JSON body.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from envoy.config.core.v3.base_pb2 import HeaderValue, HeaderValueOption
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMutation,
    HeadersResponse,
    ImmediateResponse,
    ProcessingResponse,
    TrailersResponse,
)
from envoy.type.v3.http_status_pb2 import HttpStatus

from llmswitch import headers as names
from llmswitch.protocols.errors import RequestError

_OVERWRITE = HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD


def header(name: str, value: str | bytes) -> HeaderValueOption:
    raw = value.encode() if isinstance(value, str) else value
    return HeaderValueOption(header=HeaderValue(key=name, raw_value=raw), append_action=_OVERWRITE)


def continue_request_headers(remove: Iterable[str] = ()) -> ProcessingResponse:
    mutation = HeaderMutation(remove_headers=list(remove))
    return ProcessingResponse(request_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation)))


CONTINUE_REQUEST_HEADERS = ProcessingResponse(request_headers=HeadersResponse())
CONTINUE_REQUEST_BODY = ProcessingResponse(request_body=BodyResponse())
CONTINUE_RESPONSE_HEADERS = ProcessingResponse(response_headers=HeadersResponse())
CONTINUE_RESPONSE_BODY = ProcessingResponse(response_body=BodyResponse())
CONTINUE_REQUEST_TRAILERS = ProcessingResponse(request_trailers=TrailersResponse())
CONTINUE_RESPONSE_TRAILERS = ProcessingResponse(response_trailers=TrailersResponse())


@lru_cache(maxsize=4096)
def routing_headers(
    cluster_header: str, cluster: str, model: str, decision: str, authorization: str | None = None
) -> tuple[HeaderValueOption, ...]:
    """The headers that send a request to its model; cached, as few (model, decision) pairs exist."""
    routing = (header(cluster_header, cluster), header(names.SELECTED_MODEL, model), header(names.DECISION, decision))
    if authorization is None:
        return routing
    return (*routing, header("authorization", authorization))


def routed_body(set_headers: tuple[HeaderValueOption, ...], body: bytes | None) -> ProcessingResponse:
    """Reply to the buffered request body: set routing headers, maybe replace the body, re-route."""
    if body is not None:
        set_headers = (*set_headers, header("content-length", str(len(body))))
    common = CommonResponse(
        header_mutation=HeaderMutation(set_headers=set_headers),
        body_mutation=BodyMutation(body=body) if body is not None else None,
        clear_route_cache=True,
    )
    return ProcessingResponse(request_body=BodyResponse(response=common))


def immediate(status: int, body: bytes, details: str, content_type: str = "application/json") -> ProcessingResponse:
    return ProcessingResponse(
        immediate_response=ImmediateResponse(
            status=HttpStatus(code=status),
            headers=HeaderMutation(set_headers=[header("content-type", content_type)]),
            body=body,
            details=details,
        )
    )


def error(err: RequestError) -> ProcessingResponse:
    return immediate(err.status, err.body(), f"llmswitch_{err.code}")
