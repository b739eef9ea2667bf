"""Request translation: every client API to each upstream API, field by field, refusals and dropped fields."""

import pytest

from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.translate import translate_request

PNG = "data:image/png;base64,iVBORw0KGgo="
PDF = "data:application/pdf;base64,JVBERi0x"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

CHAT = {
    "model": "auto",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "image_url", "image_url": {"url": PNG}},
            ],
        },
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
                {"id": "call.2", "type": "function", "function": {"name": "weather", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "call.2", "content": [{"type": "text", "text": "Rain"}]},
        {"role": "user", "content": "Thanks"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "weather", "description": "Get weather", "parameters": SCHEMA, "strict": True},
        }
    ],
    "tool_choice": "required",
    "parallel_tool_calls": False,
    "max_completion_tokens": 300,
    "stop": "END",
    "temperature": 0.5,
    "top_p": 0.9,
    "stream": True,
    "stream_options": {"include_usage": True},
    "user": "user-7",
    "reasoning_effort": "minimal",
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": SCHEMA, "strict": True}},
}

MESSAGES_OF_CHAT = {
    "max_tokens": 300,
    "system": "Be brief.",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "Sunny"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "Rain"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ],
    "stop_sequences": ["END"],
    "temperature": 0.5,
    "top_p": 0.9,
    "metadata": {"user_id": "user-7"},
    "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": SCHEMA}},
    "tools": [{"name": "weather", "input_schema": SCHEMA, "description": "Get weather", "strict": True}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    "stream": True,
}


def test_chat_to_messages():
    translated = translate_request(CHAT, "chat", "messages", default_max_tokens=4096)
    assert translated.body == MESSAGES_OF_CHAT
    assert translated.dropped == ()
    assert "model" not in translated.body


def test_messages_to_chat():
    body = {
        "model": "auto",
        "max_tokens": 300,
        "system": [
            {"type": "text", "text": "Be brief."},
            {"type": "text", "text": "Use tools.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
                        "title": "f.pdf",
                    },
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "Sunny"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "Thanks"},
                ],
            },
        ],
        "tools": [{"name": "weather", "description": "Get weather", "input_schema": SCHEMA}],
        "tool_choice": {"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
        "stop_sequences": ["END", "STOP"],
        "temperature": 0.2,
        "top_k": 40,
        "metadata": {"user_id": "u1"},
        "thinking": {"type": "enabled", "budget_tokens": 8000},
        "stream": True,
    }
    translated = translate_request(body, "messages", "chat", default_max_tokens=4096)
    assert translated.body == {
        "messages": [
            {
                "role": "system",
                "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use tools."}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": PNG}},
                    {"type": "file", "file": {"file_data": PDF, "filename": "f.pdf"}},
                    {"type": "text", "text": "notes"},
                ],
            },
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny"},
            {"role": "user", "content": "Thanks"},
        ],
        "max_completion_tokens": 300,
        "stop": ["END", "STOP"],
        "temperature": 0.2,
        "user": "u1",
        "reasoning_effort": "medium",
        "tools": [
            {"type": "function", "function": {"name": "weather", "parameters": SCHEMA, "description": "Get weather"}}
        ],
        "parallel_tool_calls": False,
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert set(translated.dropped) == {"cache_control", "top_k", "document.title", "reasoning", "is_error"}


RESPONSES = {
    "model": "auto",
    "instructions": "Be brief.",
    "input": [
        {"role": "developer", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Weather here?"},
                {"type": "input_image", "image_url": PNG, "detail": "auto"},
                {"type": "input_file", "file_data": PDF, "filename": "f.pdf"},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
    ],
    "tools": [
        {"type": "function", "name": "weather", "description": "Get weather", "parameters": SCHEMA, "strict": True}
    ],
    "tool_choice": {"type": "function", "name": "weather"},
    "max_output_tokens": 200,
    "temperature": 0.7,
    "reasoning": {"effort": "high", "summary": "auto"},
    "text": {"format": {"type": "json_schema", "name": "w", "schema": SCHEMA, "strict": True}},
    "safety_identifier": "hashed-user",
    "store": True,
    "stream": True,
}


def test_responses_to_chat():
    translated = translate_request(RESPONSES, "responses", "chat", default_max_tokens=4096)
    assert translated.body == {
        "messages": [
            {
                "role": "system",
                "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": PNG}},
                    {"type": "file", "file": {"file_data": PDF, "filename": "f.pdf"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        ],
        "max_completion_tokens": 200,
        "temperature": 0.7,
        "user": "hashed-user",
        "reasoning_effort": "high",
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": SCHEMA, "strict": True}},
        "tools": [
            {
                "type": "function",
                "function": {"name": "weather", "parameters": SCHEMA, "description": "Get weather", "strict": True},
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert set(translated.dropped) == {"reasoning", "reasoning.summary", "store"}


def test_responses_to_messages():
    translated = translate_request(RESPONSES, "responses", "messages", default_max_tokens=4096)
    body = translated.body
    assert body["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
                    "title": "f.pdf",
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "Sunny"}]},
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "weather"}
    assert body["output_config"] == {"effort": "high", "format": {"type": "json_schema", "schema": SCHEMA}}
    assert (body["max_tokens"], body["temperature"], body["metadata"], body["stream"]) == (
        200,
        0.7,
        {"user_id": "hashed-user"},
        True,
    )
    assert "detail" not in str(body) and "stream_options" not in body


def test_string_input_and_default_max_tokens():
    translated = translate_request({"model": "m", "input": "hi"}, "responses", "messages", default_max_tokens=1234)
    assert translated.body == {
        "max_tokens": 1234,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    chat = translate_request({"model": "m", "input": "hi"}, "responses", "chat", default_max_tokens=1234)
    assert chat.body == {"messages": [{"role": "user", "content": "hi"}]}  # chat has no required cap


def test_same_api_is_untouched():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": True, "n": 3}
    translated = translate_request(body, "chat", "chat", default_max_tokens=1)
    assert translated.body is body and translated.dropped == ()


def test_advisory_fields_at_their_defaults_are_not_reported():
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "seed": None,
        "frequency_penalty": 0,
        "store": False,
        "n": 1,
        "logprobs": False,
        "service_tier": "auto",
    }
    assert translate_request(body, "chat", "messages", default_max_tokens=8).dropped == ()
    body.update(seed=7, presence_penalty=0.5, metadata={"k": "v"})
    assert translate_request(body, "chat", "messages", default_max_tokens=8).dropped == (
        "seed",
        "presence_penalty",
        "metadata",
    )


def test_tool_choice_none_and_auto():
    tools = [{"type": "function", "function": {"name": "f", "parameters": SCHEMA}}]
    base = {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools}
    assert translate_request({**base, "tool_choice": "none"}, "chat", "messages", default_max_tokens=8).body[
        "tool_choice"
    ] == {"type": "none"}
    assert translate_request({**base, "tool_choice": "auto"}, "chat", "messages", default_max_tokens=8).body[
        "tool_choice"
    ] == {"type": "auto"}
    assert "tool_choice" not in translate_request(base, "chat", "messages", default_max_tokens=8).body
    anthropic = {
        "model": "m",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "f", "input_schema": SCHEMA}],
    }
    assert (
        translate_request({**anthropic, "tool_choice": {"type": "any"}}, "messages", "chat", default_max_tokens=8).body[
            "tool_choice"
        ]
        == "required"
    )


MESSAGE = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("source", "target", "body", "param"),
    [
        ("chat", "messages", {"messages": MESSAGE, "n": 2}, "n"),
        ("chat", "messages", {"messages": MESSAGE, "logprobs": True}, "logprobs"),
        ("chat", "messages", {"messages": MESSAGE, "audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ("chat", "messages", {"messages": MESSAGE, "modalities": ["text", "audio"]}, "modalities"),
        ("chat", "messages", {"messages": MESSAGE, "functions": [{"name": "f"}]}, "functions"),
        ("chat", "messages", {"messages": MESSAGE, "logit_bias": {"50256": -100}}, "logit_bias"),
        ("chat", "messages", {"messages": MESSAGE, "made_up_field": 1}, "made_up_field"),
        ("chat", "messages", {"messages": MESSAGE, "response_format": {"type": "json_object"}}, "response_format"),
        ("chat", "messages", {"messages": MESSAGE, "tools": [{"type": "custom", "custom": {"name": "g"}}]}, "tools[0]"),
        (
            "chat",
            "messages",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}],
                    }
                ]
            },
            "messages[0].content[0]",
        ),
        (
            "chat",
            "messages",
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        ("responses", "chat", {"input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
        ("responses", "messages", {"input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
        ("responses", "chat", {"input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
        ("responses", "messages", {"input": "x", "tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
        ("responses", "messages", {"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        ("responses", "chat", {"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0]"),
        (
            "responses",
            "chat",
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
            "input[0].content[0]",
        ),
        ("responses", "chat", {"input": "x", "background": True}, "background"),
        (
            "messages",
            "chat",
            {"max_tokens": 5, "messages": MESSAGE, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            "tools[0]",
        ),
        (
            "messages",
            "chat",
            {"max_tokens": 5, "messages": MESSAGE, "mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]},
            "mcp_servers",
        ),
        (
            "messages",
            "chat",
            {
                "max_tokens": 5,
                "messages": [
                    {"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}
                ],
            },
            "messages[0].content[0].source",
        ),
        (
            "messages",
            "chat",
            {
                "max_tokens": 5,
                "messages": [
                    {"role": "user", "content": [{"type": "search_result", "source": "s", "title": "t", "content": []}]}
                ],
            },
            "messages[0].content[0]",
        ),
        (
            "messages",
            "chat",
            {
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [{"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}],
                            }
                        ],
                    }
                ],
            },
            "messages[0].content[0].content[0]",
        ),
        (
            "messages",
            "chat",
            {
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}],
                    }
                ],
            },
            "messages[0].content[0]",
        ),
    ],
)
def test_untranslatable_fields_are_refused_by_name(source, target, body, param):
    with pytest.raises(RequestError) as info:
        translate_request({"model": "m", **body}, source, target, default_max_tokens=8)
    err = info.value
    assert (err.status, err.code, err.param) == (400, "untranslatable_field", param)
    titles = {"chat": "OpenAI chat completions", "messages": "Anthropic Messages", "responses": "OpenAI Responses"}
    assert f"'{param}'" in err.message and titles[source] in err.message and titles[target] in err.message


def test_malformed_bodies_are_400s_naming_the_field():
    with pytest.raises(RequestError) as info:
        translate_request({"messages": [{"role": "tool", "content": "x"}]}, "chat", "messages", default_max_tokens=8)
    assert (info.value.status, info.value.param) == (400, "messages[0].tool_call_id")


def test_tool_ids_are_made_valid_for_anthropic_and_stay_paired():
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "fn:call/1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "fn:call/1", "content": "ok"},
        ],
    }
    messages = translate_request(body, "chat", "messages", default_max_tokens=8).body["messages"]
    assert messages[1]["content"][0]["id"] == messages[2]["content"][0]["tool_use_id"] == "fn_call_1"


def test_advisory_keys_inside_parts_and_tools_are_reported():
    chat = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": SCHEMA, "examples": [1]}}],
    }
    assert translate_request(chat, "chat", "messages", default_max_tokens=8).dropped == (
        "image_url.detail",
        "tools[].function.examples",
    )
    anthropic = {
        "model": "m",
        "max_tokens": 5,
        "messages": MESSAGE,
        "tools": [{"name": "f", "input_schema": SCHEMA, "input_examples": [{"city": "Oslo"}]}],
    }
    assert translate_request(anthropic, "messages", "chat", default_max_tokens=8).dropped == ("tools[].input_examples",)
    responses = {
        "model": "m",
        "input": [{"role": "user", "content": [{"type": "input_image", "image_url": PNG, "detail": "high"}]}],
    }
    assert translate_request(responses, "responses", "chat", default_max_tokens=8).dropped == ("input_image.detail",)


def test_empty_text_blocks_are_left_out_for_anthropic():
    body = {"model": "m", "messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "ok"},
    ]}  # fmt: skip
    messages = translate_request(body, "chat", "messages", default_max_tokens=8).body["messages"]
    assert messages[0]["content"] == [{"type": "text", "text": "hi"}]
    assert messages[1]["content"] == [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]
