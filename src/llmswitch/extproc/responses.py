"""Builders for ext_proc replies, as serialized ProcessingResponse messages.

Envoy rules that hold here: header values go in `raw_value` only; routing needs
`clear_route_cache` in the same reply as the header mutation; a changed body comes with
its new `content-length`; errors are ImmediateResponses with an OpenAI-style JSON body.

In one-message mode (`routed_by_metadata`) Envoy has no request headers to mutate: the route
plan goes back as dynamic metadata (namespace `llmswitch`: the cluster, and each header to set),
which the generated route config matches and writes into the request. Envoy clears the route
cache only for a reply that carries a header mutation, so an empty one is sent; the buffer
filter after ext_proc sets the new content-length.

The gRPC handler sends these bytes as they are (see `servicer.add_to_server`). Fixed replies are
serialized once. The routed-body reply differs per request; it is assembled from cached serialized
header options and the new body, each length-delimited field sized by `_prefix`, instead of
building a message tree per request, which cost more than the rest of the reply.
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
from google.protobuf.struct_pb2 import Struct

from llmswitch import headers as names
from llmswitch.pipeline.plan import Continue, Forward, Respond
from llmswitch.protocols.errors import RequestError

_OVERWRITE = HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
_LENGTH_DELIMITED = 2


def _number(message: type, field: str) -> int:
    return message.DESCRIPTOR.fields_by_name[field].number


_REQUEST_BODY = _number(ProcessingResponse, "request_body")
_DYNAMIC_METADATA = _number(ProcessingResponse, "dynamic_metadata")
_BODY_RESPONSE = _number(BodyResponse, "response")
_HEADER_MUTATION = _number(CommonResponse, "header_mutation")
_BODY_MUTATION = _number(CommonResponse, "body_mutation")
_SET_HEADERS = _number(HeaderMutation, "set_headers")
_REMOVE_HEADERS = _number(HeaderMutation, "remove_headers")
_NEW_BODY = _number(BodyMutation, "body")
_CLEAR_ROUTE_CACHE = CommonResponse(clear_route_cache=True).SerializeToString()
_DYNAMIC_METADATA = _number(ProcessingResponse, "dynamic_metadata")
_EMPTY_HEADER_MUTATION = bytes(((_HEADER_MUTATION << 3) | 2, 0))
# google.protobuf.Struct: map<string, Value> fields = 1; Value: string_value = 3, struct_value = 5.
_STRUCT_FIELDS, _ENTRY_KEY, _ENTRY_VALUE, _STRING_VALUE, _STRUCT_VALUE = 1, 1, 2, 3, 5
METADATA_NAMESPACE = "llmswitch"
CLUSTER_KEY = "cluster"
"""The metadata key the one-message routes match to pick the model's cluster."""
_PATH = ":path"


def _prefix(number: int, size: int) -> bytes:
    """Tag and varint length of one length-delimited protobuf field (field numbers below 16)."""
    if size < 0x80:
        return bytes(((number << 3) | _LENGTH_DELIMITED, size))
    prefix = bytearray(((number << 3) | _LENGTH_DELIMITED,))
    while size > 0x7F:
        prefix.append((size & 0x7F) | 0x80)
        size >>= 7
    prefix.append(size)
    return bytes(prefix)


def _field(number: int, payload: bytes) -> bytes:
    return _prefix(number, len(payload)) + payload


def header(name: str, value: str | bytes) -> HeaderValueOption:
    raw = value.encode() if isinstance(value, str) else value
    return HeaderValueOption(header=HeaderValue(key=name, raw_value=raw), append_action=_OVERWRITE)


def set_headers(pairs: Iterable[tuple[str, str | bytes]]) -> bytes:
    """Serialized `HeaderMutation.set_headers` entries; entries concatenate, so these do too."""
    return b"".join(_field(_SET_HEADERS, header(name, value).SerializeToString()) for name, value in pairs)


def remove_headers(names: Iterable[str]) -> bytes:
    """Serialized `HeaderMutation.remove_headers` entries, to join with `set_headers` output."""
    return b"".join(_field(_REMOVE_HEADERS, name.encode()) for name in names)


@lru_cache(maxsize=4096)
def routing_headers(
    cluster_header: str,
    cluster: str,
    model: str,
    decision: str,
    credential: tuple[str, str] | None = None,
    model_headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """The headers that send a request to its model; cached, as few (model, decision) pairs exist."""
    pairs = [(cluster_header, cluster), (names.SELECTED_MODEL, model), (names.DECISION, decision), *model_headers]
    if credential is not None:
        pairs.append(credential)
    return set_headers(pairs)


def dynamic_metadata(namespaces: dict[str, dict[str, str]]) -> bytes:
    """A serialized `ProcessingResponse.dynamic_metadata` field: appended to any reply, it sets that metadata."""
    metadata = Struct()
    for namespace, values in namespaces.items():
        metadata.fields[namespace].struct_value.update(values)
    return _field(_DYNAMIC_METADATA, metadata.SerializeToString())


@lru_cache(maxsize=4096)
def _content_length(size: int) -> bytes:
    return set_headers((("content-length", str(size)),))


def routed_body(headers: bytes, body: bytes | None) -> bytes:
    """Reply to the buffered request body: set `headers` (from `set_headers`), maybe replace the body, re-route.

    The nested fields are sized first and joined once, so a large body is copied once."""
    if body is None:
        common = [_prefix(_HEADER_MUTATION, len(headers)), headers, _CLEAR_ROUTE_CACHE]
    else:
        headers += _content_length(len(body))
        new_body = _prefix(_NEW_BODY, len(body))
        common = [
            _prefix(_HEADER_MUTATION, len(headers)),
            headers,
            _prefix(_BODY_MUTATION, len(new_body) + len(body)),
            new_body,
            body,
            _CLEAR_ROUTE_CACHE,
        ]
    common_size = sum(map(len, common))
    body_response = _prefix(_BODY_RESPONSE, common_size)
    return b"".join((_prefix(_REQUEST_BODY, len(body_response) + common_size), body_response, *common))


def _struct_entry(key: str, value: bytes) -> bytes:
    """One serialized `Struct.fields` entry; `value` is a serialized `Value`."""
    return _field(_STRUCT_FIELDS, _field(_ENTRY_KEY, key.encode()) + _field(_ENTRY_VALUE, value))


def _string_entry(key: str, value: str) -> bytes:
    return _struct_entry(key, _field(_STRING_VALUE, value.encode()))


@lru_cache(maxsize=4096)
def routing_metadata(cluster: str, model: str, decision: str, credential: tuple[str, str] | None = None) -> bytes:
    """Struct entries that send a request to its model in one-message mode; cached like `routing_headers`."""
    pairs = [(CLUSTER_KEY, cluster), (names.SELECTED_MODEL, model), (names.DECISION, decision)]
    if credential is not None:
        pairs.append(credential)
    return b"".join(_string_entry(key, value) for key, value in pairs)


def metadata_headers(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Struct entries for headers to set; Envoy's header-mutation filter writes those of
    `pipeline.wire.forwarded_headers`. `:path` is left to the model's route (its base path rewrite)."""
    return b"".join(_string_entry(name, value) for name, value in pairs if name != _PATH)


@lru_cache(maxsize=4096)
def _dynamic_metadata(entries: bytes) -> bytes:
    """The `dynamic_metadata` field holding `entries` in the llmswitch namespace (cached: mostly the same few)."""
    namespace = _struct_entry(METADATA_NAMESPACE, _prefix(_STRUCT_VALUE, len(entries)) + entries)
    return _prefix(_DYNAMIC_METADATA, len(namespace)) + namespace


def routed_by_metadata(entries: bytes, body: bytes | None) -> bytes:
    """Reply to a one-message stream's body: the plan as dynamic metadata, maybe a new body, re-route."""
    metadata = _dynamic_metadata(entries)
    if body is None:
        common = [_EMPTY_HEADER_MUTATION, _CLEAR_ROUTE_CACHE]
    else:
        new_body = _prefix(_NEW_BODY, len(body))
        common = [
            _EMPTY_HEADER_MUTATION,
            _prefix(_BODY_MUTATION, len(new_body) + len(body)),
            new_body,
            body,
            _CLEAR_ROUTE_CACHE,
        ]
    common_size = sum(map(len, common))
    body_response = _prefix(_BODY_RESPONSE, common_size)
    request_body = _prefix(_REQUEST_BODY, len(body_response) + common_size)
    return b"".join((request_body, body_response, *common, metadata))


@lru_cache(maxsize=64)
def continue_request_headers(remove: tuple[str, ...] = ()) -> bytes:
    mutation = HeaderMutation(remove_headers=list(remove))
    return ProcessingResponse(
        request_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation))
    ).SerializeToString()


CONTINUE_REQUEST_HEADERS = ProcessingResponse(request_headers=HeadersResponse()).SerializeToString()
CONTINUE_REQUEST_BODY = ProcessingResponse(request_body=BodyResponse()).SerializeToString()
CONTINUE_RESPONSE_HEADERS = ProcessingResponse(response_headers=HeadersResponse()).SerializeToString()
CONTINUE_RESPONSE_BODY = ProcessingResponse(response_body=BodyResponse()).SerializeToString()
CONTINUE_REQUEST_TRAILERS = ProcessingResponse(request_trailers=TrailersResponse()).SerializeToString()
CONTINUE_RESPONSE_TRAILERS = ProcessingResponse(response_trailers=TrailersResponse()).SerializeToString()


def immediate(
    status: int,
    body: bytes,
    details: str,
    content_type: str = "application/json",
    extra_headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    headers = [header("content-type", content_type), *(header(name, value) for name, value in extra_headers)]
    return ProcessingResponse(
        immediate_response=ImmediateResponse(
            status=HttpStatus(code=status), headers=HeaderMutation(set_headers=headers), body=body, details=details
        )
    ).SerializeToString()


def error_reply(err: RequestError, api: str = "chat") -> bytes:
    """An error in the client API's own shape."""
    return immediate(err.status, err.body_for(api), f"llmswitch_{err.code}")


def reply(result: Forward | Respond | Continue, cluster_header: str = "", one_message: bool = False) -> bytes:
    """The reply that carries out what the pipeline decided (`one_message`: for a stream without headers)."""
    if isinstance(result, Forward):
        plan = result.plan
        if one_message:
            # The client's other credential headers are removed by the model's route.
            entries = routing_metadata(result.cluster or plan.model.cluster, plan.model.name, plan.decision, result.credential)
            if result.headers or result.model_headers:
                entries += metadata_headers((*result.model_headers, *result.headers))
            return routed_by_metadata(entries, result.body)
        headers = routing_headers(
            cluster_header, result.cluster or plan.model.cluster, plan.model.name, plan.decision, result.credential, result.model_headers
        )
        if result.headers:
            headers += set_headers(result.headers)
        if result.remove_headers:
            headers += remove_headers(result.remove_headers)
        reply = routed_body(headers, result.body)
        return reply + dynamic_metadata(result.metadata) if result.metadata else reply
    if isinstance(result, Respond):
        return immediate(result.status, result.body, result.details, result.content_type, result.headers)
    return continue_request_headers(result.remove_headers)
