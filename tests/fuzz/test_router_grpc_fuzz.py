"""The same fuzz cases over gRPC, against the real router process: one reply per message, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from envoy.service.ext_proc.v3.external_processor_pb2_grpc import ExternalProcessorStub
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.extproc_stream import body_message, check_immediate, check_routed, headers_message
from tests.fuzz.strategies import any_bodies, fuzz_settings, header_lists

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def processor(stack) -> Iterator[ExternalProcessorStub]:
    with grpc.insecure_channel(stack.router_address) as channel:
        yield ExternalProcessorStub(channel)


@fuzz_settings(300)
@given(extra=header_lists, body=any_bodies, pieces=st.integers(min_value=1, max_value=6))
def test_each_message_gets_one_reply_over_grpc(processor, extra, body, pieces):
    size = max(1, -(-len(body) // pieces))
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        headers_message("POST", "/v1/chat/completions", extra, end_of_stream=False),
        *(body_message(chunk, i == len(chunks) - 1) for i, chunk in enumerate(chunks)),
    ]
    replies = list(processor.Process(iter(messages), timeout=10))
    kinds = [reply.WhichOneof("response") for reply in replies]
    if kinds[0] == "immediate_response":  # refused on its headers alone (a 431, a repeated routing header)
        assert len(replies) == 1  # Envoy sends nothing after an immediate response: the router ends the stream
        event(check_immediate(replies[0]))
        return
    assert len(replies) == len(messages)
    assert kinds[:-1] == ["request_headers"] + ["request_body"] * (len(chunks) - 1)
    if kinds[-1] == "immediate_response":
        event(check_immediate(replies[-1]))
    else:
        assert kinds[-1] == "request_body"
        check_routed(replies[-1], body)
        event("routed")
