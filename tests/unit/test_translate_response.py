"""Whole JSON answers: each upstream API to each client API, read back with the client's SDK types."""

import anthropic.types
import openai.types.chat
import openai.types.responses
import orjson
import pytest

from llmswitch.protocols.translate import (
    JsonTranslator,
    Passthrough,
    StreamTranslator,
    response_translator,
    translate_response_json,
)

CHAT_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "openai-model",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 4},
    },
}
MESSAGES_ANSWER = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "anthropic-model",
    "content": [
        {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 40,
        "output_tokens": 20,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 50,
    },
}


def _json(source, target, body, status=200, request=None):
    return orjson.loads(translate_response_json(orjson.dumps(body), source, target, status, request))


def test_chat_answer_to_messages():
    out = _json("chat", "messages", CHAT_ANSWER)
    message = anthropic.types.Message.model_validate(out)
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[1].input == {"city": "Paris"} and message.content[1].id == "call_1"
    assert (message.stop_reason, message.id, message.model) == ("tool_use", "chatcmpl-1", "openai-model")
    usage = message.usage
    assert (
        usage.input_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
        usage.output_tokens,
    ) == (40, 60, 0, 20)


def test_chat_answer_to_responses_echoes_the_request():
    request = {
        "model": "auto",
        "input": "hi",
        "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": False}],
        "temperature": 0.3,
    }
    response = openai.types.responses.Response.model_validate(_json("chat", "responses", CHAT_ANSWER, request=request))
    assert [item.type for item in response.output] == ["message", "function_call"]
    assert response.output_text == "Let me check."
    call = response.output[1]
    assert (call.call_id, call.name, call.arguments, call.status) == (
        "call_1",
        "weather",
        '{"city":"Paris"}',
        "completed",
    )
    assert (response.status, response.instructions, response.temperature, response.tools[0].name) == (
        "completed",
        "Be brief.",
        0.3,
        "weather",
    )
    assert (
        response.usage.input_tokens,
        response.usage.input_tokens_details.cached_tokens,
        response.usage.output_tokens,
    ) == (100, 60, 20)
    assert response.usage.output_tokens_details.reasoning_tokens == 4 and response.id == "resp_chatcmpl-1"
    assert len({item.id for item in response.output}) == 2


def test_messages_answer_to_chat_leaves_thinking_out():
    completion = openai.types.chat.ChatCompletion.model_validate(_json("messages", "chat", MESSAGES_ANSWER))
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Let me check.", "tool_calls")
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name, orjson.loads(call.function.arguments)) == (
        "toolu_1",
        "weather",
        {"city": "Paris"},
    )
    usage = completion.usage
    assert (
        usage.prompt_tokens,
        usage.prompt_tokens_details.cached_tokens,
        usage.completion_tokens,
        usage.total_tokens,
    ) == (100, 50, 20, 120)


def test_messages_answer_to_responses_keeps_thinking_as_reasoning():
    response = openai.types.responses.Response.model_validate(_json("messages", "responses", MESSAGES_ANSWER))
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
    assert (
        response.output[0].content[0].text == "The user wants weather." and response.output[0].encrypted_content is None
    )
    assert response.usage.input_tokens == 100 and response.usage.input_tokens_details.cached_tokens == 50


@pytest.mark.parametrize(
    ("finish", "stop_reason", "status", "incomplete"),
    [
        ("stop", "end_turn", "completed", None),
        ("length", "max_tokens", "incomplete", "max_output_tokens"),
        ("tool_calls", "tool_use", "completed", None),
        ("content_filter", "refusal", "incomplete", "content_filter"),
    ],
)
def test_chat_finish_reasons(finish, stop_reason, status, incomplete):
    answer = {
        **CHAT_ANSWER,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": finish}],
    }
    assert _json("chat", "messages", answer)["stop_reason"] == stop_reason
    response = _json("chat", "responses", answer)
    assert (response["status"], (response["incomplete_details"] or {}).get("reason")) == (status, incomplete)


@pytest.mark.parametrize(
    ("stop_reason", "finish", "status"),
    [
        ("end_turn", "stop", "completed"),
        ("stop_sequence", "stop", "completed"),
        ("max_tokens", "length", "incomplete"),
        ("tool_use", "tool_calls", "completed"),
        ("refusal", "content_filter", "incomplete"),
        ("pause_turn", "stop", "completed"),
        ("model_context_window_exceeded", "length", "incomplete"),
    ],
)
def test_anthropic_stop_reasons(stop_reason, finish, status):
    answer = {**MESSAGES_ANSWER, "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason}
    assert _json("messages", "chat", answer)["choices"][0]["finish_reason"] == finish
    assert _json("messages", "responses", answer)["status"] == status


def test_unreadable_upstream_answers_become_errors_in_the_client_shape():
    broken = translate_response_json(b"<html>oops</html>", "chat", "messages", 200)
    assert orjson.loads(broken)["error"]["type"] == "api_error"
    bad_arguments = {
        **CHAT_ANSWER,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    error = _json("chat", "messages", bad_arguments)
    assert error["type"] == "error" and "not a JSON object" in error["error"]["message"]
    assert (
        orjson.loads(translate_response_json(b"[1]", "messages", "responses", 200))["error"]["code"]
        == "upstream_format"
    )


def test_factory_picks_by_pair_status_and_content_type():
    assert isinstance(response_translator("chat", "chat", 200, "text/event-stream"), Passthrough)
    assert isinstance(
        response_translator("chat", "messages", 200, "text/event-stream; charset=utf-8"), StreamTranslator
    )
    assert isinstance(response_translator("chat", "messages", 200, "application/json"), JsonTranslator)
    assert isinstance(
        response_translator("messages", "chat", 529, "text/event-stream"), JsonTranslator
    )  # an error body
    translator = response_translator("messages", "chat", 200, "application/json")
    body = orjson.dumps(MESSAGES_ANSWER)
    assert translator.feed(body[:10]) == b"" and translator.feed(body[10:]) == b""
    assert translator.content_type == "application/json"
    assert orjson.loads(translator.finish())["object"] == "chat.completion"
    with pytest.raises(ValueError):
        response_translator("responses", "chat", 200, "application/json")
