"""Hostile input for the protocol layer: request bodies of every client API, upstream answers and streams.

Whatever comes in, the outcome is a translation or a 4xx `RequestError` naming a field (requests),
or bytes in the client's API (answers, streams): never another exception.
"""

from __future__ import annotations

import json

import orjson
from hypothesis import event, given
from hypothesis import strategies as st

from llmswitch.protocols.anthropic_messages import parse_messages
from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.openai_chat import dump_json, parse_chat
from llmswitch.protocols.openai_responses import parse_responses
from llmswitch.protocols.sse import SseParser
from llmswitch.protocols.translate import StreamTranslator, translate_request, translate_response_json
from tests.fuzz.strategies import chat_bodies, fuzz_settings, json_values, sometimes_wrong
from tests.protocol_fixtures import CHAT_STREAM, MESSAGES_STREAM

texts = st.text(max_size=24)
sources = st.fixed_dictionaries(
    {"type": st.sampled_from(["base64", "url", "text", "file"])},
    optional={
        "media_type": sometimes_wrong(st.sampled_from(["image/png", "application/pdf"])),
        "data": texts,
        "url": texts,
    },
)
anthropic_blocks = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": sometimes_wrong(texts)}),
    st.fixed_dictionaries({"type": st.sampled_from(["image", "document"]), "source": sometimes_wrong(sources)}),
    st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": sometimes_wrong(texts), "name": texts, "input": json_values}
    ),
    st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": sometimes_wrong(texts)},
        optional={
            "content": st.one_of(
                texts,
                st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), max_size=2),
                json_values,
            ),
            "is_error": json_values,
        },
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["thinking", "redacted_thinking", "search_result"])},
        optional={"thinking": texts, "signature": texts},
    ),
    json_values,
)
anthropic_messages = st.fixed_dictionaries(
    {
        "role": sometimes_wrong(st.sampled_from(["user", "assistant"])),
        "content": st.one_of(texts, st.lists(anthropic_blocks, max_size=3), json_values),
    }
)
messages_bodies = st.fixed_dictionaries(
    {
        "model": st.just("auto"),
        "messages": sometimes_wrong(st.lists(anthropic_messages, max_size=3)),
        "max_tokens": sometimes_wrong(st.integers(min_value=1, max_value=10_000)),
    },
    optional={
        "system": st.one_of(
            texts, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), max_size=2), json_values
        ),
        "tools": sometimes_wrong(
            st.lists(
                st.fixed_dictionaries(
                    {"name": texts, "input_schema": json_values},
                    optional={"type": st.sampled_from(["custom", "web_search_20250305"])},
                ),
                max_size=2,
            )
        ),
        "tool_choice": sometimes_wrong(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["auto", "any", "tool", "none", "bad"])},
                optional={"name": texts, "disable_parallel_tool_use": json_values},
            )
        ),
        "thinking": sometimes_wrong(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["enabled", "disabled", "adaptive"]),
                    "budget_tokens": st.integers(1024, 40_000),
                }
            )
        ),
        "output_config": sometimes_wrong(
            st.fixed_dictionaries({}, optional={"effort": st.sampled_from(["low", "high", "max"])})
        ),
        "metadata": sometimes_wrong(st.fixed_dictionaries({"user_id": texts})),
        "stop_sequences": sometimes_wrong(st.lists(texts, max_size=2)),
        "stream": sometimes_wrong(st.booleans()),
        "top_k": sometimes_wrong(st.integers(1, 100)),
    },
)
responses_parts = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["input_text", "output_text"]), "text": sometimes_wrong(texts)}),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["input_image", "input_file"])},
        optional={"image_url": texts, "file_data": texts, "file_id": texts},
    ),
    json_values,
)
responses_items = st.one_of(
    st.fixed_dictionaries(
        {
            "role": sometimes_wrong(st.sampled_from(["user", "assistant", "system", "developer"])),
            "content": st.one_of(texts, st.lists(responses_parts, max_size=3), json_values),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call"),
            "call_id": sometimes_wrong(texts),
            "name": texts,
            "arguments": sometimes_wrong(json_values.map(json.dumps)),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call_output"),
            "call_id": sometimes_wrong(texts),
            "output": st.one_of(texts, st.lists(responses_parts, max_size=2), json_values),
        }
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["reasoning", "item_reference", "web_search_call"])}),
    json_values,
)
responses_bodies = st.fixed_dictionaries(
    {"model": st.just("auto"), "input": st.one_of(texts, st.lists(responses_items, max_size=4), json_values)},
    optional={
        "instructions": sometimes_wrong(texts),
        "tools": sometimes_wrong(
            st.lists(
                st.fixed_dictionaries({"type": st.sampled_from(["function", "web_search"]), "name": texts}), max_size=2
            )
        ),
        "tool_choice": sometimes_wrong(st.sampled_from(["auto", "none", "required"])),
        "text": sometimes_wrong(
            st.fixed_dictionaries({"format": st.fixed_dictionaries({"type": st.sampled_from(["text", "json_object"])})})
        ),
        "reasoning": sometimes_wrong(st.fixed_dictionaries({"effort": st.sampled_from(["low", "high"])})),
        "max_output_tokens": sometimes_wrong(st.integers(1, 10_000)),
        "previous_response_id": texts,
    },
)


def _check_translations(data: object, source: str, parse) -> str:
    if not isinstance(data, dict):
        return "not an object"
    try:
        view = parse(data, "auto")
    except RequestError as err:
        assert err.status == 400 and (err.param is None or err.param in err.message), err
        return f"view: {err.code}"
    assert isinstance(view.user_text, str)
    outcomes = []
    for target in ("chat", "messages"):
        if target == source:
            continue
        try:
            body = translate_request(data, source, target, default_max_tokens=64).body  # type: ignore[arg-type]
        except RequestError as err:
            assert err.status == 400, err
            outcomes.append(err.code)
        else:
            dump_json(body)
            assert "model" not in body and ("max_tokens" in body if target == "messages" else "messages" in body)
            outcomes.append("translated")
    return "/".join(outcomes)


@fuzz_settings(400)
@given(body=messages_bodies)
def test_messages_bodies(body):
    event(_check_translations(body, "messages", parse_messages))


@fuzz_settings(400)
@given(body=responses_bodies)
def test_responses_bodies(body):
    event(_check_translations(body, "responses", parse_responses))


@fuzz_settings(300)
@given(body=chat_bodies())
def test_chat_bodies(body):
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    event(_check_translations(data, "chat", parse_chat))


@fuzz_settings(300)
@given(answer=json_values, status=st.sampled_from([200, 400, 429, 500, 529]))
def test_any_upstream_answer_becomes_a_client_body(answer, status):
    raw = json.dumps(answer).encode()
    for source, target in (
        ("chat", "messages"),
        ("messages", "chat"),
        ("chat", "responses"),
        ("messages", "responses"),
    ):
        assert isinstance(orjson.loads(translate_response_json(raw, source, target, status)), dict)


@fuzz_settings(300)
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
    noise=st.binary(max_size=64),
    position=st.integers(0, 4000),
)
def test_streams_with_noise_end_well_formed(cuts, noise, position):
    """Real streams with bytes inserted somewhere, fed in random pieces: the output parses as SSE, and
    ends with the client API's closing event or its error event."""
    for source, upstream in (("chat", CHAT_STREAM), ("messages", MESSAGES_STREAM)):
        at = position % (len(upstream) + 1)
        stream = upstream[:at] + noise + upstream[at:]
        bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
        for target in ("chat", "messages", "responses"):
            if target == source:
                continue
            translator = StreamTranslator(source, target)  # type: ignore[arg-type]
            out = (
                b"".join(translator.feed(stream[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
                + translator.finish()
            )
            events = SseParser().feed(out)
            assert events
            last = events[-1]
            if target == "chat":
                assert last.data == "[DONE]" or "error" in orjson.loads(last.data)
            else:
                assert last.event in ("message_stop", "error", "response.completed", "response.incomplete")
