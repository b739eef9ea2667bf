"""Three client APIs x two model APIs through the real Envoy and router, with the official SDKs as callers.

`claude-model` speaks Anthropic Messages, `small-model` OpenAI chat completions; a prompt naming
"claude" is routed to the first, every other prompt to the second. Requests in another API than
their model's are translated by the model cluster's upstream filter, and so are the answers.
"""

from collections.abc import Iterator

import anthropic
import httpx
import openai
import orjson
import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import Upstreams, scrape_metrics, wait_until

CLAUDE = "claude-model"
GPT = "small-model"
TOOL = {"name": "get_weather", "description": "Weather in a city", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAcCBlCwAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    tmp_path = tmp_path_factory.mktemp("protocols")
    ports = free_ports(7)
    data = base_config(ports[:6])
    data["models"].append({"name": CLAUDE, "endpoint": f"127.0.0.1:{ports[6]}", "api": "anthropic",
                           "pricing": {"input_per_1m": 3, "output_per_1m": 15}})
    data["signals"]["keywords"].append({"name": "claude", "keywords": ["claude"]})
    # One model's errors reach the client as they are (translated): failover and 429 cooldowns have their own tests.
    data["routing"]["failover"] = {"enabled": False}
    data["health"] = {"rate_limits": {"enabled": False}}
    data["decisions"].append({"name": "claude_decision", "priority": 200,
                              "rules": {"type": "keyword", "name": "claude"}, "modelRefs": [{"model": CLAUDE}]})
    stack = LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path).start()
    yield stack
    stack.stop()


@pytest.fixture
def upstreams(stack) -> Upstreams:
    upstreams = Upstreams(stack)
    upstreams.clear()
    return upstreams


@pytest.fixture(scope="module")
def oai(stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key="client-key", max_retries=0, timeout=20)


@pytest.fixture(scope="module")
def claude(stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="client-key", max_retries=0, timeout=20)


def only_request(upstreams: Upstreams, model: str) -> dict:
    (seen,) = upstreams.received(model)
    return {**seen, "json": orjson.loads(seen["body"])}


# -- chat completions clients --------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_chat_client_to_an_anthropic_model(oai, upstreams, stream):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Ask claude: hello"}]
    raw = oai.chat.completions.with_raw_response.create(model="auto", messages=messages, stream=stream, max_tokens=50)
    assert raw.headers["x-llmswitch-model"] == CLAUDE
    if stream:
        chunks = list(raw.parse())
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    else:
        completion = raw.parse()
        text = completion.choices[0].message.content
        assert completion.choices[0].finish_reason == "stop" and completion.usage.prompt_tokens > 0
    assert CLAUDE in text
    seen = only_request(upstreams, CLAUDE)
    assert seen["path"] == "/v1/messages"
    assert seen["json"]["system"] == "Be brief." and seen["json"]["max_tokens"] == 50
    assert seen["json"]["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Ask claude: hello"}]}]
    assert seen["headers"]["anthropic-version"] == "2023-06-01"
    assert "x-llmswitch-egress" not in seen["headers"]


def test_chat_client_to_an_openai_model_is_not_translated(oai, upstreams):
    raw = oai.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-llmswitch-model"] == GPT and raw.parse().choices[0].message.content
    seen = only_request(upstreams, GPT)
    assert seen["path"] == "/v1/chat/completions" and "x-llmswitch-egress" not in seen["headers"]


def test_chat_tool_call_and_result_through_an_anthropic_model(oai, upstreams):
    tools = [{"type": "function", "function": TOOL}]
    first = oai.chat.completions.create(
        model="auto", tools=tools, messages=[{"role": "user", "content": "claude: get_weather in Paris"}]
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    second = oai.chat.completions.create(model="auto", tools=tools, messages=[
        {"role": "user", "content": "claude: get_weather in Paris"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ])
    assert second.choices[0].message.content
    turns = orjson.loads(upstreams.received(CLAUDE)[-1]["body"])["messages"]
    (use,) = [block for block in turns[1]["content"] if block["type"] == "tool_use"]
    assert use["id"] == call.id and use["input"] == {"city": "claude: get_weather in Paris"}
    assert turns[2]["content"][0] == {"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}


def test_chat_image_reaches_an_anthropic_model_as_an_image_block(oai, upstreams):
    content = [{"type": "text", "text": "claude, what is this?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}]
    oai.chat.completions.create(model="auto", messages=[{"role": "user", "content": content}])
    block = only_request(upstreams, CLAUDE)["json"]["messages"][0]["content"][1]
    assert block == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}


def test_a_field_the_model_api_cannot_express_is_refused_before_anything_is_sent(oai, upstreams):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="auto", n=2, messages=[{"role": "user", "content": "claude, two answers"}])
    assert "'n'" in caught.value.message and "Anthropic Messages" in caught.value.message
    assert upstreams.received(CLAUDE) == []


# -- Anthropic Messages clients ------------------------------------------------------------------------

def test_messages_client_to_an_openai_model(claude, upstreams):
    message = claude.messages.create(
        model="auto", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "hello"}]
    )
    assert message.type == "message" and GPT in message.content[0].text
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    seen = only_request(upstreams, GPT)
    assert seen["path"] == "/v1/chat/completions"
    assert seen["json"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert seen["json"]["max_completion_tokens"] == 64 or seen["json"].get("max_tokens") == 64


def test_messages_client_streams_from_an_openai_model(claude, upstreams):
    with claude.messages.stream(model="auto", max_tokens=64, messages=[{"role": "user", "content": "hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert GPT in text and final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_messages_client_to_an_anthropic_model_is_not_translated(claude, upstreams, stream):
    params = {"model": "auto", "max_tokens": 32, "messages": [{"role": "user", "content": "claude, hi"}]}
    if stream:
        with claude.messages.stream(**params) as events:
            text = "".join(events.text_stream)
    else:
        text = claude.messages.create(**params).content[0].text
    assert CLAUDE in text
    seen = only_request(upstreams, CLAUDE)
    assert seen["json"]["model"] == CLAUDE and "x-llmswitch-egress" not in seen["headers"]


def test_messages_tool_use_through_an_openai_model(claude, upstreams):
    tool = {"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["parameters"]}
    message = claude.messages.create(model="auto", max_tokens=64, tools=[tool],
                                     messages=[{"role": "user", "content": "get_weather for Oslo"}])
    assert message.stop_reason == "tool_use"
    (use,) = [b for b in message.content if b.type == "tool_use"]
    assert use.name == "get_weather" and isinstance(use.input, dict)
    assert only_request(upstreams, GPT)["json"]["tools"][0]["function"]["name"] == "get_weather"


def test_messages_errors_come_in_anthropics_shape(claude, stack):
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "not_found_error"
    missing = httpx.post(f"{stack.base_url}/messages", json={"model": "auto", "messages": [{"role": "user", "content": "x"}]})
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"


# -- OpenAI Responses clients --------------------------------------------------------------------------

@pytest.mark.parametrize("model", [GPT, CLAUDE])
def test_responses_client_to_either_model(oai, upstreams, model):
    prompt = "claude, hello" if model == CLAUDE else "hello"
    response = oai.responses.create(model="auto", instructions="Be brief.", input=prompt, max_output_tokens=40)
    assert response.status == "completed" and model in response.output_text
    assert response.usage.output_tokens > 0
    seen = only_request(upstreams, model)
    assert seen["path"] == ("/v1/messages" if model == CLAUDE else "/v1/chat/completions")


@pytest.mark.parametrize("model", [GPT, CLAUDE])
def test_responses_client_streams_from_either_model(oai, upstreams, model):
    prompt = "claude, hello" if model == CLAUDE else "hello"
    events = list(oai.responses.create(model="auto", input=prompt, stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert model in text and events[-1].response.usage.output_tokens > 0
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_responses_previous_response_id_cannot_reach_a_chat_model(oai, upstreams):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model="auto", input="hello", previous_response_id="resp_123")
    assert "previous_response_id" in caught.value.message
    assert upstreams.received(GPT) == []


# -- the response side ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 500])
def test_upstream_errors_reach_the_client_in_its_own_api(stack, oai, claude, status):
    port = stack.config.model(CLAUDE).port
    httpx.put(f"http://127.0.0.1:{port}/_stub/fail", json={"status": status})
    try:
        with pytest.raises(openai.APIStatusError) as from_chat:
            oai.chat.completions.create(model="auto", messages=[{"role": "user", "content": "claude, hi"}])
        assert from_chat.value.status_code == status
        assert from_chat.value.body["type"] in ("rate_limit_error", "api_error", "server_error", "invalid_request_error")
    finally:
        httpx.put(f"http://127.0.0.1:{port}/_stub/fail", json={"status": 0})


def test_translated_usage_is_accounted_for_the_model_that_answered(stack, oai):
    def claude_tokens() -> float:
        return scrape_metrics(stack).get(("llmswitch_model_tokens_total", (("kind", "completion"), ("model", CLAUDE))), 0)

    before = claude_tokens()
    list(oai.chat.completions.create(model="auto", stream=True, messages=[{"role": "user", "content": "claude, count"}]))
    assert wait_until(lambda: claude_tokens() > before, timeout_s=10)


def test_a_client_that_disconnects_mid_stream_is_still_accounted(stack, claude):
    def claude_prompt_tokens() -> float:
        return scrape_metrics(stack).get(("llmswitch_model_tokens_total", (("kind", "prompt"), ("model", CLAUDE))), 0)

    def estimated() -> float:
        return scrape_metrics(stack).get(("llmswitch_usage_estimated_total", (("model", CLAUDE),)), 0)

    before, estimated_before = claude_prompt_tokens(), estimated()
    oai = openai.OpenAI(base_url=stack.base_url, api_key="k", max_retries=0, timeout=20)
    stream = oai.chat.completions.create(model="auto", stream=True, messages=[{"role": "user", "content": "claude, long"}])
    next(iter(stream))
    stream.close()
    assert wait_until(lambda: estimated() == estimated_before + 1, timeout_s=10)
    assert claude_prompt_tokens() > before
