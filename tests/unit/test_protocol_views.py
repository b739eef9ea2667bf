"""What routing reads from each client API's body."""

import orjson
import pytest

from llmswitch.protocols.anthropic_messages import parse_messages
from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.openai_chat import parse_chat
from llmswitch.protocols.openai_responses import parse_responses


def test_chat_view_collects_user_text_tool_text_and_flags():
    data = {
        "model": "auto",
        "max_tokens": 64,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is on"}, {"type": "image_url", "image_url": {"url": "data:,"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"email": "a@b.example"}'}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "call +1 555 0100"},
            {"role": "user", "content": "this picture?"},
        ],
    }
    view = parse_chat(data, "auto")
    assert view.api == "chat"
    assert view.user_text == "What is on\nthis picture?"
    assert view.last_user_text == "this picture?"
    assert view.tool_text == '{"email": "a@b.example"}\ncall +1 555 0100'
    assert "Be brief." in view.conversation_text and "call +1 555 0100" in view.conversation_text
    assert view.has_tools and view.has_images
    assert view.max_output_tokens == 64


def test_chat_view_without_tools_or_images():
    view = parse_chat({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}, "auto")
    assert not view.has_tools and not view.has_images and view.tool_text == "" and view.max_output_tokens is None


# The chat conversation above, in the two other client APIs: routing must read the same view.
MESSAGES_BODY = {
    "model": "auto",
    "max_tokens": 64,
    "system": [{"type": "text", "text": "Be brief."}],
    "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "What is on"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        ]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "lookup", "input": {"email": "a@b.example"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": [{"type": "text", "text": "call +1 555 0100"}]},
            {"type": "text", "text": "this picture?"},
        ]},
    ],
}
RESPONSES_BODY = {
    "model": "auto",
    "max_output_tokens": 64,
    "instructions": "Be brief.",
    "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
    "input": [
        {"role": "user", "content": [
            {"type": "input_text", "text": "What is on"},
            {"type": "input_image", "image_url": "https://example.com/a.png"},
        ]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"email": "a@b.example"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "call +1 555 0100"},
        {"type": "message", "role": "user", "content": "this picture?"},
    ],
}


def _routing_fields(view):
    return (view.user_text, view.last_user_text, view.has_tools, view.has_images, view.max_output_tokens, view.stream)


def test_messages_and_responses_views_read_like_chat():
    messages = parse_messages(MESSAGES_BODY, "auto")
    responses = parse_responses(RESPONSES_BODY, "auto")
    assert (messages.api, responses.api) == ("messages", "responses")
    expected = ("What is on\nthis picture?", "this picture?", True, True, 64, False)
    assert _routing_fields(messages) == _routing_fields(responses) == expected
    assert messages.tool_text == '{"email":"a@b.example"}\ncall +1 555 0100'  # the input object, as JSON text
    assert responses.tool_text == '{"email": "a@b.example"}\ncall +1 555 0100'
    for view in (messages, responses):
        assert "Be brief." in view.conversation_text and "call +1 555 0100" in view.conversation_text


def test_string_forms():
    messages = parse_messages({"model": "m", "max_tokens": 5, "system": "sys", "stream": True, "messages": [{"role": "user", "content": "hi"}]}, "m")
    responses = parse_responses({"model": "m", "input": "hi", "stream": True}, "m")
    for view in (messages, responses):
        assert (view.user_text, view.last_user_text, view.stream, view.has_tools, view.has_images) == ("hi", "hi", True, False, False)
    assert messages.conversation_text == "sys\nhi"


def test_views_accept_what_only_their_own_api_knows():
    """Routed to a model of the same API, nothing is translated, so nothing may be refused."""
    messages = dict(MESSAGES_BODY, tools=[{"type": "web_search_20250305", "name": "web_search"}], top_k=5)
    assert parse_messages(messages, "auto").has_tools
    responses = dict(RESPONSES_BODY, previous_response_id="resp_1", tools=[{"type": "web_search"}])
    assert parse_responses(responses, "auto").has_tools


@pytest.mark.parametrize(
    ("parse", "body", "param"),
    [
        (parse_messages, {"messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        (parse_messages, {"max_tokens": 5}, "messages"),
        (parse_messages, {"max_tokens": 0, "messages": []}, "max_tokens"),
        (parse_messages, {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}, {"role": "user", "content": [{"text": "x"}]}]}, "messages[1].content[0]"),
        (parse_messages, {"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        (parse_messages, {"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": 3}]}]}, "messages[0].content[0].tool_use_id"),
        (parse_messages, {"max_tokens": 5, "system": [{"type": "image"}], "messages": []}, "system[0].type"),
        (parse_responses, {}, "input"),
        (parse_responses, {"input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]}, "input[0].content[0].text"),
        (parse_responses, {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        (parse_responses, {"input": "x", "stream": "yes"}, "stream"),
    ],
)
def test_bad_bodies_name_the_field(parse, body, param):
    with pytest.raises(RequestError) as info:
        parse(body, "auto")
    assert info.value.status == 400 and info.value.param == param and param in info.value.message


def test_missing_max_tokens_is_an_anthropic_shaped_400():
    with pytest.raises(RequestError) as info:
        parse_messages({"messages": [{"role": "user", "content": "x"}]}, "auto")
    body = orjson.loads(info.value.body_for("messages"))
    assert body == {"type": "error", "error": {"type": "invalid_request_error", "message": "Missing required parameter: 'max_tokens'."}}
