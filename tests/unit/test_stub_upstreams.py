"""The stub model servers speak each API well enough for its official SDK, over real HTTP."""

import anthropic
import httpx
import openai
import pytest

from tests.protocol_helpers import stub_server

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
CHAT_TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]
ANTHROPIC_TOOLS = [{"name": "weather", "input_schema": SCHEMA}]
RESPONSES_TOOLS = [{"type": "function", "name": "weather", "parameters": SCHEMA, "strict": False}]


@pytest.fixture(scope="module")
def base_url():
    with stub_server("stub-a") as url:
        yield url


@pytest.fixture
def openai_sdk(base_url):
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="k", max_retries=0, _strict_response_validation=True)


@pytest.fixture
def anthropic_sdk(base_url):
    return anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0, _strict_response_validation=True)


def test_chat(openai_sdk):
    completion = openai_sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == (
        "Hello from stub-a.",
        "stop",
    )
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (1, 5)
    chunks = list(
        openai_sdk.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(
        f"stub-a part {i}. " for i in range(4)
    )
    assert chunks[-1].usage.completion_tokens == 5


def test_chat_tool_call_streamed_and_not(openai_sdk):
    messages = [{"role": "user", "content": "weather in Paris?"}]
    call = (
        openai_sdk.chat.completions.create(model="m", messages=messages, tools=CHAT_TOOLS)
        .choices[0]
        .message.tool_calls[0]
    )
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_stub-a_0",
        "weather",
        '{"city":"weather in Paris?"}',
    )
    with openai_sdk.chat.completions.stream(model="m", messages=messages, tools=CHAT_TOOLS) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.arguments == call.function.arguments
    assert final.choices[0].finish_reason == "tool_calls"


def test_messages(anthropic_sdk):
    message = anthropic_sdk.messages.create(
        model="m", max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "hi"}]
    )
    assert (message.content[0].text, message.stop_reason, message.usage.input_tokens, message.usage.output_tokens) == (
        "Hello from stub-a.",
        "end_turn",
        3,
        5,
    )
    capped = anthropic_sdk.messages.create(model="m", max_tokens=2, messages=[{"role": "user", "content": "hi"}])
    assert (capped.stop_reason, capped.usage.output_tokens) == ("max_tokens", 2)
    with anthropic_sdk.messages.stream(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert final.content[0].text == "".join(f"stub-a part {i}. " for i in range(4))
    assert (events[0], events[-1], final.stop_reason, final.usage.output_tokens) == (
        "message_start",
        "message_stop",
        "end_turn",
        5,
    )


def test_messages_tool_call_streamed_and_not(anthropic_sdk):
    messages = [{"role": "user", "content": "weather in Paris?"}]
    message = anthropic_sdk.messages.create(model="m", max_tokens=100, messages=messages, tools=ANTHROPIC_TOOLS)
    assert [b.type for b in message.content] == ["text", "tool_use"] and message.stop_reason == "tool_use"
    assert (message.content[1].id, message.content[1].input) == ("toolu_stub-a_0", {"city": "weather in Paris?"})
    with anthropic_sdk.messages.stream(model="m", max_tokens=100, messages=messages, tools=ANTHROPIC_TOOLS) as stream:
        final = stream.get_final_message()
    assert final.content[1].input == message.content[1].input
    done = anthropic_sdk.messages.create(
        model="m",
        max_tokens=100,
        tools=ANTHROPIC_TOOLS,
        messages=[
            *messages,
            {"role": "assistant", "content": message.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_stub-a_0", "content": "Sunny"}]},
        ],
    )
    assert done.stop_reason == "end_turn"  # tool results carry no user text: the loop ends


def test_messages_requirements_and_raw_events(base_url):
    url = f"{base_url}/v1/messages"
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    missing_version = httpx.post(url, json=body)
    assert missing_version.status_code == 400 and missing_version.json()["error"]["type"] == "invalid_request_error"
    no_cap = httpx.post(url, json={**body, "max_tokens": None}, headers={"anthropic-version": "2023-06-01"})
    assert no_cap.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    streamed = httpx.post(url, json={**body, "stream": True}, headers={"anthropic-version": "2023-06-01"}).text
    assert streamed.startswith("event: message_start\ndata: {") and "event: ping\n" in streamed


def test_responses(openai_sdk):
    response = openai_sdk.responses.create(model="m", input="hi", instructions="Be brief.")
    assert (response.output_text, response.status, response.usage.input_tokens) == (
        "Hello from stub-a.",
        "completed",
        3,
    )
    with openai_sdk.responses.stream(model="m", input="hi") as stream:
        numbers = [event.sequence_number for event in stream]
        final = stream.get_final_response()
    assert numbers == list(range(len(numbers))) and final.output_text == "".join(f"stub-a part {i}. " for i in range(4))
    capped = openai_sdk.responses.create(model="m", input="hi", max_output_tokens=3)
    assert (capped.status, capped.incomplete_details.reason) == ("incomplete", "max_output_tokens")


def test_responses_tool_call_streamed_and_not(openai_sdk):
    call = openai_sdk.responses.create(model="m", input="weather in Paris?", tools=RESPONSES_TOOLS).output[0]
    assert (call.type, call.call_id, call.arguments) == (
        "function_call",
        "call_stub-a_0",
        '{"city":"weather in Paris?"}',
    )
    with openai_sdk.responses.stream(model="m", input="weather in Paris?", tools=RESPONSES_TOOLS) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds and final.output[0].arguments == call.arguments


def test_failing_stub_answers_in_each_api_shape(base_url, openai_sdk, anthropic_sdk):
    httpx.put(f"{base_url}/_stub/fail", json={"status": 529})
    try:
        with pytest.raises(anthropic.OverloadedError) as info:
            anthropic_sdk.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        assert info.value.type == "overloaded_error"
        with pytest.raises(openai.APIStatusError) as chat_info:
            openai_sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert (chat_info.value.status_code, chat_info.value.code) == (529, "stub_failure")
        with pytest.raises(openai.APIStatusError):
            openai_sdk.responses.create(model="m", input="hi")
    finally:
        httpx.put(f"{base_url}/_stub/fail", json={"status": 0})


def test_cut_streams_stop_without_closing_events(base_url, anthropic_sdk):
    httpx.put(f"{base_url}/_stub/fail", json={"status": 0, "cut_streams": True})
    try:
        with anthropic_sdk.messages.stream(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            kinds = [event.type for event in stream]
        assert "message_stop" not in kinds and "content_block_delta" in kinds
    finally:
        httpx.put(f"{base_url}/_stub/fail", json={"status": 0})
    seen = httpx.get(f"{base_url}/_stub/requests").json()
    assert {entry["path"] for entry in seen} >= {"/v1/chat/completions", "/v1/messages", "/v1/responses"}
