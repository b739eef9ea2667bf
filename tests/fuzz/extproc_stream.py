"""Drives the real ext_proc servicer one message at a time, as Envoy does, and checks each reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import orjson
from envoy.config.core.v3.base_pb2 import HeaderMap, HeaderValue, HeaderValueOption
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    HttpBody,
    HttpHeaders,
    ProcessingRequest,
    ProcessingResponse,
)

from llmswitch.extproc.servicer import ExternalProcessor
from llmswitch.pipeline.failover import FailoverChains
from tests.fuzz.oracles import check_error_body, check_forwarded_body
from tests.helpers import base_config, loaded

REPLY_TIMEOUT_S = 5.0
# The models' clusters, and the failover chains' (a decision's model, then its fallbacks).
CLUSTERS = frozenset(
    {"model_small-model", "model_large-model", *(c.cluster for c in FailoverChains(loaded(base_config()).config).chains)}
)


class ProcessStream:
    """One `Process` stream: `send` a message and get its one reply; `close` returns any extra replies.

    The servicer yields serialized replies, as gRPC sends them; these are parsed back here."""

    def __init__(self, servicer: ExternalProcessor) -> None:
        self._outbox: asyncio.Queue[ProcessingRequest | None] = asyncio.Queue()
        self._replies = servicer.Process(self._requests(), None)

    async def _requests(self) -> AsyncIterator[ProcessingRequest]:
        while (message := await self._outbox.get()) is not None:
            yield message

    async def send(self, message: ProcessingRequest) -> ProcessingResponse:
        await self._outbox.put(message)
        return ProcessingResponse.FromString(await asyncio.wait_for(anext(self._replies), REPLY_TIMEOUT_S))

    async def close(self) -> list[ProcessingResponse]:
        await self._outbox.put(None)
        return [ProcessingResponse.FromString(reply) async for reply in self._replies]


def headers_message(
    method: str, path: str, extra: Sequence[tuple[str, bytes]], end_of_stream: bool
) -> ProcessingRequest:
    pseudo = [(":method", method.encode()), (":path", path.encode()), (":authority", b"llm"), (":scheme", b"http")]
    pairs = [*pseudo, *extra]
    headers = HeaderMap(headers=[HeaderValue(key=key, raw_value=value) for key, value in pairs])
    return ProcessingRequest(request_headers=HttpHeaders(headers=headers, end_of_stream=end_of_stream))


def body_message(chunk: bytes, end_of_stream: bool) -> ProcessingRequest:
    return ProcessingRequest(request_body=HttpBody(body=chunk, end_of_stream=end_of_stream))




def set_headers(options: Sequence[HeaderValueOption]) -> dict[str, bytes]:
    for option in options:
        assert option.header.value == "", "header values travel in raw_value only"
    return {o.header.key: o.header.raw_value for o in options}


def check_immediate(reply: ProcessingResponse) -> str:
    """A JSON answer the client can read, never a 5xx for client input."""
    immediate = reply.immediate_response
    status = immediate.status.code
    assert set_headers(immediate.headers.set_headers).get("content-type") == b"application/json"
    if status == 200:  # the model list or one model; no body for HEAD
        assert not immediate.body or orjson.loads(immediate.body)["object"] in ("list", "model")
        return "200 models"
    assert 400 <= status < 500, (status, immediate.body)
    return f"{status} {check_error_body(immediate.body)['code']}"


def check_routed(reply: ProcessingResponse, sent: bytes) -> None:
    """Routing headers, a re-route, and a body equal to the one sent except `model`, with its length."""
    common = reply.request_body.response
    assert common.clear_route_cache
    headers = set_headers(common.header_mutation.set_headers)
    assert headers["x-llmswitch-cluster"].decode() in CLUSTERS
    forwarded = None
    if common.HasField("body_mutation"):
        forwarded = common.body_mutation.body
        assert headers["content-length"] == str(len(forwarded)).encode()
    check_forwarded_body(sent, forwarded, headers["x-selected-model"].decode())


async def exchange(servicer: ExternalProcessor, headers: ProcessingRequest, chunks: Sequence[bytes]) -> str:
    """Envoy's sequence for one request: headers, then body chunks; it stops at an immediate reply.

    Returns an outcome label for hypothesis statistics.
    """
    stream = ProcessStream(servicer)
    reply = await stream.send(headers)
    kind = reply.WhichOneof("response")
    assert kind in ("request_headers", "immediate_response"), kind
    if kind == "request_headers" and not headers.request_headers.end_of_stream:
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            reply = await stream.send(body_message(chunk, last))
            kind = reply.WhichOneof("response")
            assert kind == "request_body" or (last and kind == "immediate_response"), kind
        if kind == "request_body":
            check_routed(reply, b"".join(chunks))
    if kind == "immediate_response":
        outcome = check_immediate(reply)
    else:
        outcome = "routed" if kind == "request_body" else "continued"
    # The generated config skips the response, so the router ends the stream with its last reply.
    assert await stream.close() == [], "exactly one reply per message"
    return outcome


def check_routed_by_metadata(reply: ProcessingResponse, sent: bytes) -> None:
    """One-message mode: the plan as metadata, a re-route, and the body as sent except `model`."""
    common = reply.request_body.response
    assert common.clear_route_cache and common.HasField("header_mutation")
    assert not common.header_mutation.set_headers, "Envoy has no headers to mutate in this mode"
    metadata = reply.dynamic_metadata["llmswitch"]
    assert metadata["cluster"] in CLUSTERS
    forwarded = common.body_mutation.body if common.HasField("body_mutation") else None
    check_forwarded_body(sent, forwarded, metadata["x-selected-model"])


async def exchange_one_message(
    servicer: ExternalProcessor, attributes: dict[str, str], chunks: Sequence[bytes]
) -> str:
    """Envoy's sequence in one-message mode: body chunks, the first with the request attributes."""
    stream = ProcessStream(servicer)
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        message = body_message(chunk, last)
        if index == 0:
            message.attributes["envoy.filters.http.ext_proc"].update(attributes)
        reply = await stream.send(message)
        kind = reply.WhichOneof("response")
        assert kind == "request_body" or (last and kind == "immediate_response"), kind
    if kind == "immediate_response":
        outcome = check_immediate(reply)
    else:
        check_routed_by_metadata(reply, b"".join(chunks))
        outcome = "routed"
    assert await stream.close() == [], "exactly one reply per message"
    return outcome
