"""Fuzzing the ext_proc servicer: one reply of the matching type per message, clean JSON 4xx, no crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from llmswitch.extproc.servicer import ExternalProcessor
from tests.fuzz.extproc_stream import exchange, exchange_one_message, headers_message
from tests.fuzz.strategies import any_bodies, fuzz_settings, header_lists, header_names, header_values, methods, paths
from tests.helpers import chat_body


@pytest.fixture(scope="module")
def servicer(pipeline, telemetry) -> ExternalProcessor:
    return ExternalProcessor(lambda: pipeline, telemetry)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    """The body in chunks at the given offsets, as Envoy may deliver it; always at least one chunk."""
    offsets = sorted({0, *(c % (len(body) + 1) for c in cuts), len(body)})
    return [body[a:b] for a, b in zip(offsets, offsets[1:], strict=False)] or [b""]


@fuzz_settings(2200)
@given(
    method=methods,
    path=paths,
    extra=header_lists,
    body=any_bodies,
    cuts=st.lists(st.integers(min_value=0), max_size=3),
    bodyless=st.booleans(),
)
def test_each_message_gets_one_reply_of_its_type(servicer, loop, method, path, extra, body, cuts, bodyless):
    end_of_stream = bodyless and not body
    headers = headers_message(method, path, extra, end_of_stream)
    event(loop.run_until_complete(exchange(servicer, headers, split(body, cuts))))


@fuzz_settings(800)
@given(
    method=methods,
    path=paths,
    extra=header_lists,
    body=any_bodies,
    cuts=st.lists(st.integers(min_value=0), max_size=3),
)
def test_one_message_streams_get_one_reply_per_message(servicer, loop, method, path, extra, body, cuts):
    """As Envoy sends them with request headers skipped: attributes (any header values) on the first chunk."""
    attributes = {"request.method": method, "request.path": path}
    attributes.update({f"request.headers['{k}']": v.decode("utf-8", "replace") for k, v in extra})
    event(loop.run_until_complete(exchange_one_message(servicer, attributes, split(body or b"{}", cuts))))


@fuzz_settings(400)
@given(
    pattern=st.lists(st.tuples(header_names, header_values), min_size=1, max_size=4),
    copies=st.integers(min_value=25, max_value=250),
    long_value=st.integers(min_value=0, max_value=100_000),
)
def test_header_floods_and_long_values(servicer, loop, pattern, copies, long_value):
    flood = [(f"{name}{i}", value) for i in range(copies) for name, value in pattern]
    extra = [*flood, ("x-long", b"\xfe" * long_value)]
    headers = headers_message("POST", "/v1/chat/completions", extra, end_of_stream=False)
    event(loop.run_until_complete(exchange(servicer, headers, [chat_body("write python")])))
