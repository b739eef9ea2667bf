"""Every client SDK against a stub of every other API, through the translation layer (no Envoy):
plain and streamed answers, a tool call and its result sent back, usage, errors."""

import anthropic
import httpx
import openai
import orjson
import pytest

from tests.protocol_helpers import DROPPED_HEADER, TranslatingProxy, anthropic_client, openai_client, stub_server

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
STREAMED = "".join(f"up part {i}. " for i in range(4))
PAIRS = [("chat", "messages"), ("messages", "chat"), ("responses", "chat"), ("responses", "messages")]


@pytest.fixture(scope="module")
def upstream():
    with stub_server("up") as url:
        yield url


def ask(client_api, upstream_api, upstream, *, stream, tools, seed=0):
    """One question in the client's API; returns (text, tool call id or None, usage pair, proxy)."""
    proxy = TranslatingProxy(upstream, upstream_api, seed)
    question = "weather in Paris?" if tools else "hello"
    if client_api == "chat":
        client = openai_client(proxy.handle)
        kwargs = {
            "model": "m",
            "messages": [{"role": "user", "content": question}],
            "stream_options": {"include_usage": True} if stream else None,
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if tools:
            kwargs["tools"] = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]
        if stream:
            with client.chat.completions.stream(**kwargs) as events:
                completion = events.get_final_completion()
        else:
            completion = client.chat.completions.create(**kwargs)
        message = completion.choices[0].message
        call = message.tool_calls[0] if message.tool_calls else None
        usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
        return message.content, call and (call.id, call.function.arguments), usage, proxy
    if client_api == "messages":
        client = anthropic_client(proxy.handle)
        kwargs = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": question}]}
        if tools:
            kwargs["tools"] = [{"name": "weather", "input_schema": SCHEMA}]
        if stream:
            with client.messages.stream(**kwargs) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(**kwargs)
        text = "".join(b.text for b in message.content if b.type == "text") or None
        call = next((b for b in message.content if b.type == "tool_use"), None)
        usage = (message.usage.input_tokens, message.usage.output_tokens)
        return text, call and (call.id, orjson.dumps(call.input).decode()), usage, proxy
    client = openai_client(proxy.handle)
    kwargs = {"model": "m", "input": question}
    if tools:
        kwargs["tools"] = [{"type": "function", "name": "weather", "parameters": SCHEMA, "strict": False}]
    if stream:
        with client.responses.stream(**kwargs) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**kwargs)
    call = next((i for i in response.output if i.type == "function_call"), None)
    return (
        response.output_text or None,
        call and (call.call_id, call.arguments),
        (response.usage.input_tokens, response.usage.output_tokens),
        proxy,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(("client_api", "upstream_api"), PAIRS)
def test_text_answers(upstream, client_api, upstream_api, stream):
    text, call, usage, proxy = ask(client_api, upstream_api, upstream, stream=stream, tools=False)
    assert text == (STREAMED if stream else "Hello from up.") and call is None
    assert usage == (2, 5)  # "hello": 5 bytes, about 4 per token, rounded up
    assert len(proxy.forwarded) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(("client_api", "upstream_api"), PAIRS)
def test_tool_calls(upstream, client_api, upstream_api, stream):
    _, call, _, _ = ask(client_api, upstream_api, upstream, stream=stream, tools=True)
    call_id, arguments = call
    assert orjson.loads(arguments) == {"city": "weather in Paris?"}
    assert call_id == {"chat": "call_up_0", "messages": "toolu_up_0"}[upstream_api]  # the upstream's id, kept


def test_chat_client_tool_loop_through_an_anthropic_model(upstream):
    """The assistant turn and the tool result go back in chat's shape and arrive as Anthropic blocks."""
    proxy = TranslatingProxy(upstream, "messages")
    client = openai_client(proxy.handle)
    tools = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.chat.completions.create(model="m", messages=messages, tools=tools).choices[0].message
    messages += [
        first.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "Sunny"},
    ]
    second = client.chat.completions.create(model="m", messages=messages, tools=tools)
    assert second.choices[0].message.content == "Hello from up." and second.choices[0].finish_reason == "stop"
    sent = proxy.forwarded[-1]["messages"]
    assert sent[1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_up_0",
        "name": "weather",
        "input": {"city": "weather in Paris?"},
    }
    assert sent[2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_up_0", "content": "Sunny"}]


def test_anthropic_client_tool_loop_through_a_chat_model(upstream):
    proxy = TranslatingProxy(upstream, "chat")
    client = anthropic_client(proxy.handle)
    tools = [{"name": "weather", "input_schema": SCHEMA}]
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.messages.create(model="m", max_tokens=50, messages=messages, tools=tools)
    result = {"type": "tool_result", "tool_use_id": first.content[0].id, "content": "Sunny"}
    messages += [{"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}]
    second = client.messages.create(model="m", max_tokens=50, messages=messages, tools=tools)
    assert (second.content[0].text, second.stop_reason) == ("Hello from up.", "end_turn")
    assert proxy.forwarded[-1]["messages"][-1] == {"role": "tool", "tool_call_id": "call_up_0", "content": "Sunny"}


def test_refusals_and_dropped_fields_reach_the_client(upstream):
    proxy = TranslatingProxy(upstream, "messages")
    client = openai_client(proxy.handle)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], n=2)
    assert info.value.param == "n" and "Anthropic Messages" in info.value.message
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "x"}], seed=3
    )
    assert raw.headers[DROPPED_HEADER] == "seed"
    anthropic_proxy = TranslatingProxy(upstream, "chat")
    with pytest.raises(anthropic.BadRequestError) as refused:
        anthropic_client(anthropic_proxy.handle).messages.create(
            model="m",
            max_tokens=5,
            messages=[{"role": "user", "content": "x"}],
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
        )
    assert refused.value.type == "invalid_request_error" and "tools[0]" in refused.value.api_message


def test_upstream_errors_arrive_in_the_client_api(upstream):
    httpx.put(f"{upstream}/_stub/fail", json={"status": 529})
    try:
        with pytest.raises(openai.APIStatusError) as info:
            openai_client(TranslatingProxy(upstream, "messages").handle).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        assert (info.value.status_code, info.value.code) == (529, "overloaded_error")
        with pytest.raises(anthropic.RateLimitError):
            httpx.put(f"{upstream}/_stub/fail", json={"status": 429})
            anthropic_client(TranslatingProxy(upstream, "chat").handle).messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
    finally:
        httpx.put(f"{upstream}/_stub/fail", json={"status": 0})


def test_streams_cut_short_upstream_end_in_a_client_error(upstream):
    httpx.put(f"{upstream}/_stub/fail", json={"status": 0, "cut_streams": True})
    try:
        with pytest.raises(anthropic.APIStatusError, match="ended before the answer was complete"):
            with anthropic_client(TranslatingProxy(upstream, "chat").handle).messages.stream(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            ) as events:
                events.get_final_message()
    finally:
        httpx.put(f"{upstream}/_stub/fail", json={"status": 0})
