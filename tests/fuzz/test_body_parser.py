"""Fuzzing the body parser through `RoutingPipeline.route`: a route plan with an intact body, or a clean 4xx."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from llmswitch.protocols.errors import RequestError
from tests.fuzz.oracles import check_route
from tests.fuzz.strategies import (
    PROMPT_PREFIX,
    any_bodies,
    chat_bodies,
    compact,
    deep_bodies,
    fuzz_settings,
    header_names,
    header_values,
    huge_bodies,
    json_values,
    mutated_bodies,
    nested,
    nested_field_body,
    paths,
)

CHAT_PATH = "/v1/chat/completions"

# A valid request that uses every part of the format: text and image parts, tool calls, a tool reply.
FULL_REQUEST: dict[str, Any] = {
    "model": "auto",
    "stream": False,
    "temperature": 0.5,
    "messages": [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "write python"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ],
}
FIELD_PATHS: list[tuple[str | int, ...]] = [
    ("model",),
    ("messages",),
    ("stream",),
    ("temperature",),
    ("stream_options",),
    ("messages", 0),
    ("messages", 0, "role"),
    ("messages", 0, "content"),
    ("messages", 1, "content"),
    ("messages", 1, "content", 0),
    ("messages", 1, "content", 0, "type"),
    ("messages", 1, "content", 0, "text"),
    ("messages", 1, "content", 1, "image_url"),
    ("messages", 2, "content"),
    ("messages", 2, "tool_calls"),
    ("messages", 2, "tool_calls", 0, "function"),
    ("messages", 3, "role"),
    ("messages", 3, "content"),
]


def with_field(path: tuple[str | int, ...], value: object) -> bytes:
    data = copy.deepcopy(FULL_REQUEST)
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return compact(data)


@fuzz_settings(2500)
@given(body=any_bodies)
@example(body=b"")
@example(body=b"null")
@example(body=b"[]")
@example(body=b'"auto"')
@example(body=b"1e400")
@example(body=b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}')
@example(body=b'{"model": "auto", "model": "small-model", "messages": [{"role": "user", "content": "hi"}]}')
@example(body=nested(10_000, "["))
@example(body=nested(10_000, '{"a":'))
@example(body=b'{"model": "auto", "messages": [{"role": "user", "content": "\xff\xfe"}]}')
def test_any_body_routes_or_gets_a_clean_4xx(pipeline, body):
    event(check_route(pipeline, {}, body, CHAT_PATH))


@fuzz_settings(2000)
@given(path=st.sampled_from(FIELD_PATHS), value=json_values)
def test_any_value_in_any_field(pipeline, path, value):
    event(check_route(pipeline, {}, with_field(path, value), CHAT_PATH))


@fuzz_settings(800)
@given(body=mutated_bodies())
def test_broken_bytes(pipeline, body):
    event(check_route(pipeline, {}, body, CHAT_PATH))


@fuzz_settings(500)
@given(body=st.one_of(deep_bodies, huge_bodies))
def test_deep_and_huge_bodies(pipeline, body):
    event(check_route(pipeline, {}, body, CHAT_PATH))


@fuzz_settings(700)
@given(
    body=chat_bodies(),
    headers=st.dictionaries(header_names, header_values.map(lambda v: v.decode("utf-8", "replace")), max_size=8),
    path=paths,
)
def test_any_headers_and_path(pipeline, body, headers, path):
    event(check_route(pipeline, headers, body, path))


@pytest.mark.parametrize("depth", [253, 254, 255, 600, 1023, 1024, 1025])
def test_nesting_orjson_reads_but_cannot_write_is_a_4xx_or_routed(pipeline, depth):
    try:
        plan = pipeline.route({}, nested_field_body(depth, "["))
    except RequestError as err:
        assert 400 <= err.status < 500
    else:
        assert json.loads(plan.body)["metadata"] == json.loads(nested(depth, "["))


@pytest.mark.parametrize("number", [2**64 + 1, -(2**63) - 1, 10**30, -(10**400)])
def test_integers_beyond_64_bits_are_forwarded_exactly(pipeline, number):
    plan = pipeline.route({}, PROMPT_PREFIX + b'"seed":' + str(number).encode() + b"}")
    assert json.loads(plan.body)["seed"] == number


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"auto","messages":[{"role":"user","content":"\\ud800"}],"seed":12345678901234567890123}',
        b'{"model":"auto","messages":[{"role":"user","content":"see 12345678901234567890 \\udc00"}]}',
        b'{"model":"auto","messages":[{"role":"user","content":"x"}],"seed":12345678901234567890,"t":1e400}',
    ],
)
def test_the_exact_integer_path_is_as_strict_as_the_fast_one(pipeline, body):
    """Bodies with a 19+ digit run are parsed twice; the strict parser still rejects what JSON forbids."""
    with pytest.raises(RequestError) as info:
        pipeline.route({}, body)
    assert (info.value.status, info.value.code) == (400, "invalid_json")
