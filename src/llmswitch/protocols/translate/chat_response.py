"""OpenAI chat completions answers (`chat.completion`) <-> the neutral `Reply`, and their usage."""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.translate.ir import Reasoning, Reply, StopReason, Text, ToolCall, Usage

FINISH_IN: dict[str | None, StopReason] = {
    "stop": "end",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
FINISH_OUT: dict[StopReason, str] = {
    "end": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def decode_usage(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or not isinstance(usage.get("prompt_tokens"), int):
        return None
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        _int(usage["prompt_tokens"]),
        _int(usage.get("completion_tokens")),
        cache_read=_int(prompt_details.get("cached_tokens")),
        reasoning=_int(completion_details.get("reasoning_tokens")),
    )


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
    }


def decode_chat_reply(data: dict[str, Any], now: int) -> Reply:
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    blocks: list[Text | ToolCall | Reasoning] = []
    for key in ("content", "refusal"):
        if isinstance(message.get(key), str) and message[key]:
            blocks.append(Text(message[key]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(ToolCall(str(call.get("id", "")), str(function.get("name", "")), function.get("arguments") or ""))
    return Reply(
        str(data.get("id") or "chatcmpl-unknown"),
        str(data.get("model") or ""),
        data["created"] if isinstance(data.get("created"), int) else now,
        blocks,
        FINISH_IN.get(choice.get("finish_reason"), "end"),
        None,
        decode_usage(data.get("usage")),
    )


def encode_chat_reply(reply: Reply) -> dict[str, Any]:
    texts = [b.text for b in reply.blocks if isinstance(b, Text)]
    calls = [b for b in reply.blocks if isinstance(b, ToolCall)]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    body: dict[str, Any] = {
        "id": reply.id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [{"index": 0, "message": message, "finish_reason": FINISH_OUT[reply.stop], "logprobs": None}],
    }
    if reply.usage is not None:
        body["usage"] = encode_usage(reply.usage)
    return body
