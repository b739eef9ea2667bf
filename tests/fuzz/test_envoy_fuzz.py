"""Hostile traffic through the real Envoy and router: every client gets a clean answer, and routing survives."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmswitch.demo.stack import LocalStack
from llmswitch.pipeline import RoutingPipeline
from llmswitch.protocols.errors import RequestError
from tests.fuzz.oracles import check_error_body
from tests.fuzz.strategies import any_bodies, fuzz_settings
from tests.helpers import chat_body

pytestmark = pytest.mark.integration

ANSWER_TIMEOUT_S = 10.0
CLOSED = "closed without a response"
MAX_BODY = 65536  # router.max_body_bytes in tests.helpers.base_config, also Envoy's buffer limit
TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
FIELD_BYTES = bytes([*range(0x21, 0x7F), *range(0x80, 0x100)])


@pytest.fixture(scope="module")
def http(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=ANSWER_TIMEOUT_S) as client:
        yield client


Headers = dict[str, str] | list[tuple[str, bytes]]


def post(
    http: httpx.Client, content: bytes | Iterator[bytes], headers: Headers | None = None
) -> tuple[int | str, bytes]:
    """One request: the status and body, or CLOSED if Envoy hung up; never a hang."""
    started = time.monotonic()
    try:
        response = http.post("/chat/completions", content=content, headers=headers)
    except httpx.TimeoutException:
        pytest.fail(f"no answer within {ANSWER_TIMEOUT_S}s")
    except httpx.TransportError:
        assert time.monotonic() - started < ANSWER_TIMEOUT_S
        return CLOSED, b""
    return response.status_code, response.content


def assert_routes(http: httpx.Client) -> None:
    response = http.post("/chat/completions", content=chat_body("write python"))
    assert response.status_code == 200
    assert response.headers["x-llmswitch-decision"] == "code_decision"


@pytest.mark.parametrize("count", [150, 500, 2000])
def test_more_headers_than_envoy_allows_are_refused_cleanly(http, count):
    # Envoy 1.40 refuses over 100 request headers on HTTP/1.1 by closing the connection, with no 431.
    status, _ = post(http, chat_body("hi"), {f"x-flood-{i}": "v" for i in range(count)})
    assert status in (431, CLOSED)
    assert_routes(http)


@pytest.mark.parametrize("size", [61 * 1024, 200 * 1024, 1024 * 1024])
def test_header_values_over_envoys_limit_are_refused_cleanly(http, size):
    status, _ = post(http, chat_body("hi"), {"x-long": "a" * size})
    assert status in (431, CLOSED)
    assert_routes(http)


@pytest.mark.parametrize(("count", "size"), [(50, 100), (1, 50 * 1024)])
def test_many_or_long_headers_within_envoys_limits_still_route(http, count, size):
    status, body = post(http, chat_body("write python"), {f"x-h-{i}": "v" * size for i in range(count)})
    assert status == 200 and orjson.loads(body)["model"] == "large-model"


@pytest.mark.parametrize("headers", [{f"x-h-{i}": "v" for i in range(90)}, {"x-long": "a" * 61_000}])
def test_headers_just_under_envoys_limits_route_and_never_get_a_5xx(http, headers):
    """One-message mode: Envoy's header-mutation filter writes the routing headers, unchecked by the listener's
    limits, so these requests route (two-message mode answers 431: tests/integration/test_ext_proc_modes.py)."""
    status, body = post(http, chat_body("write python"), headers)
    assert status == 200, body
    assert orjson.loads(body)["model"] == "large-model"


def chunked(body: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("size", [MAX_BODY + 1, 1024 * 1024, 8 * 1024 * 1024])
@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_oversized_bodies_get_413_json(http, size, transfer):
    body = chat_body("a" * size)
    status, answer = post(http, body if transfer == "content-length" else chunked(body))
    assert status == 413
    assert check_error_body(answer)["code"] == "request_too_large"
    assert_routes(http)


def collect(strategy: st.SearchStrategy, count: int) -> list:
    """`count` reproducible examples of a strategy."""
    examples: list = []

    @fuzz_settings(count)
    @given(strategy)
    def record(example: object) -> None:
        examples.append(example)

    record()
    return examples


def expected_error(pipeline: RoutingPipeline, body: bytes) -> RequestError | None:
    try:
        pipeline.route({}, body)
    except RequestError as err:
        return err
    return None


async def post_all(stack: LocalStack, bodies: list[bytes]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=ANSWER_TIMEOUT_S, limits=limits) as client:
        return await asyncio.gather(*(client.post("/chat/completions", content=body) for body in bodies))


def test_hundreds_of_malformed_bodies_at_once_each_get_their_json_4xx(stack, http, pipeline):
    bodies = [b for b in collect(any_bodies, 600) if expected_error(pipeline, b) is not None][:300]
    assert len(bodies) >= 250
    started = time.monotonic()
    responses = asyncio.run(post_all(stack, bodies))
    assert time.monotonic() - started < ANSWER_TIMEOUT_S
    for body, response in zip(bodies, responses, strict=True):
        expected = expected_error(pipeline, body)
        assert response.status_code == expected.status, (body[:200], response.content)
        assert check_error_body(response.content)["code"] == expected.code
    assert_routes(http)


def test_random_header_bytes_get_a_clean_answer(http):
    names = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=16)
    values = st.binary(max_size=48).map(lambda raw: bytes(FIELD_BYTES[b % len(FIELD_BYTES)] for b in raw))
    for headers in collect(st.lists(st.tuples(names, values), max_size=12), 100):
        status, _ = post(http, chat_body("hi"), headers)
        assert status == CLOSED or status < 500, headers
    assert_routes(http)
