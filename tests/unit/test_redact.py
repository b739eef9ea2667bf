"""PII redaction of chat completions, Anthropic Messages and OpenAI Responses bodies."""

import copy
import json

import orjson
import pytest

from llmswitch.safety.redact import redact_request

EMAIL = "jane.roe@example.org"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
PHONE = "+1 415-555-0132"


def _dumps(data) -> str:
    return orjson.dumps(data).decode()


def test_chat_user_tool_result_and_arguments_are_redacted_and_stay_valid_json():
    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": f"Support desk. Escalations: {EMAIL}"},
            {"role": "user", "content": f"My card {CARD} was charged twice, mail me at {EMAIL}"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "refund",
                            "arguments": json.dumps({"card": CARD, "note": f"call {PHONE}"}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": f'{{"status": "ok", "iban": "{IBAN}"}}'},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"also {EMAIL}"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            },
        ],
    }
    original = copy.deepcopy(body)
    result = redact_request("chat", body)
    assert body == original  # the input is not modified
    assert result.counts == {"credit_card": 2, "email": 2, "iban": 1, "phone": 1}
    messages = result.data["messages"]
    assert messages[0]["content"] == original["messages"][0]["content"]  # system is out of the default scope
    assert messages[1]["content"] == "My card [CREDIT_CARD] was charged twice, mail me at [EMAIL]"
    arguments = json.loads(messages[2]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"card": "[CREDIT_CARD]", "note": "call [PHONE]"}
    assert messages[3]["content"] == '{"status": "ok", "iban": "[IBAN]"}'
    assert messages[4]["content"][0]["text"] == "also [EMAIL]"
    assert messages[4]["content"][1] is body["messages"][4]["content"][1]  # untouched parts are shared
    serialized = _dumps(result.data["messages"][1:])
    for secret in (EMAIL, CARD, IBAN, PHONE):
        assert secret not in serialized and secret.replace(" ", "") not in serialized


def test_chat_scope_and_placeholder_are_configurable():
    body = {"messages": [{"role": "system", "content": EMAIL}, {"role": "user", "content": EMAIL}]}
    result = redact_request("chat", body, types=["email"], scope=["system"], placeholder="<{type}>")
    assert [m["content"] for m in result.data["messages"]] == ["<email>", EMAIL]
    assert redact_request("chat", body, types=["phone"]).data is body  # nothing found: the same object back


def test_anthropic_messages_blocks():
    body = {
        "model": "auto",
        "max_tokens": 100,
        "system": [{"type": "text", "text": f"Operator contact {EMAIL}"}],
        "messages": [
            {"role": "user", "content": f"Send {CARD} details"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Looking up {EMAIL}"},
                    {"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"query": {"email": EMAIL, "n": 3}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "tu_1",
                        "content": [{"type": "text", "text": f"IBAN {IBAN}"}],
                    },
                    {"type": "tool_result", "tool_use_id": "tu_2", "content": f"phone {PHONE}"},
                    {"type": "text", "text": f"and {EMAIL}"},
                ],
            },
        ],
    }
    result = redact_request("messages", body, scope=["user", "tool", "system"])
    assert result.counts == {"credit_card": 1, "email": 3, "iban": 1, "phone": 1}
    data = result.data
    assert data["system"][0]["text"] == "Operator contact [EMAIL]"
    assert data["messages"][0]["content"] == "Send [CREDIT_CARD] details"
    assert data["messages"][1]["content"][0]["text"] == f"Looking up {EMAIL}"  # assistant text: not in scope
    assert data["messages"][1]["content"][1]["input"] == {"query": {"email": "[EMAIL]", "n": 3}}
    assert data["messages"][2]["content"][0]["content"][0]["text"] == "IBAN [IBAN]"
    assert data["messages"][2]["content"][1]["content"] == "phone [PHONE]"
    assert data["messages"][2]["content"][2]["text"] == "and [EMAIL]"


def test_openai_responses_items():
    body = {
        "model": "auto",
        "instructions": f"Escalate to {EMAIL}",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": f"card {CARD}"}]},
            {"type": "function_call", "call_id": "c1", "name": "pay", "arguments": json.dumps({"iban": IBAN})},
            {"type": "function_call_output", "call_id": "c1", "output": f"sent receipt to {EMAIL}"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": EMAIL}]},
        ],
    }
    result = redact_request("responses", body)
    assert result.counts == {"credit_card": 1, "email": 1, "iban": 1}
    data = result.data
    assert data["instructions"] == body["instructions"]
    assert data["input"][0]["content"][0]["text"] == "card [CREDIT_CARD]"
    assert json.loads(data["input"][1]["arguments"]) == {"iban": "[IBAN]"}
    assert data["input"][2]["output"] == "sent receipt to [EMAIL]"
    assert data["input"][3] is body["input"][3]
    assert redact_request("responses", {"input": f"hi {EMAIL}"}).data["input"] == "hi [EMAIL]"


def test_arguments_that_are_not_json_are_redacted_as_text():
    body = {"messages": [{"role": "assistant", "function_call": {"name": "f", "arguments": f"to: {EMAIL}"}}]}
    assert redact_request("chat", body).data["messages"][0]["function_call"]["arguments"] == "to: [EMAIL]"


def test_unknown_api_is_an_error():
    with pytest.raises(ValueError):
        redact_request("completions", {})  # type: ignore[arg-type]
