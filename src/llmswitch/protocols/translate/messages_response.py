"""Anthropic Messages answers (`message`) <-> the neutral `Reply`, and their usage."""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.protocols.translate.fields import json_bytes
from llmswitch.protocols.translate.ir import Reasoning, Reply, StopReason, Text, ToolCall, UpstreamFormatError, Usage
from llmswitch.protocols.translate.messages_request import tool_id

STOP_IN: dict[str | None, StopReason] = {
    "end_turn": "end",
    "stop_sequence": "stop_sequence",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "end",
    "model_context_window_exceeded": "length",
}
STOP_OUT: dict[StopReason, str] = {
    "end": "end_turn",
    "stop_sequence": "stop_sequence",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def decode_usage(usage: Any, base: Usage | None = None) -> Usage | None:
    """Anthropic counts cache reads and writes apart from `input_tokens`; the neutral `input` holds all three.

    `base` is what `message_start` said: a `message_delta` may leave its input counts out.
    """
    if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
        return None
    cache_read = (
        _int(usage["cache_read_input_tokens"])
        if "cache_read_input_tokens" in usage
        else (base.cache_read if base else 0)
    )
    cache_write = (
        _int(usage["cache_creation_input_tokens"])
        if "cache_creation_input_tokens" in usage
        else (base.cache_write if base else 0)
    )
    if isinstance(usage.get("input_tokens"), int):
        total_input = usage["input_tokens"] + cache_read + cache_write
    else:
        total_input = base.input if base else 0
    return Usage(total_input, usage["output_tokens"], cache_read=cache_read, cache_write=cache_write)


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": max(usage.input - usage.cache_read - usage.cache_write, 0),
        "output_tokens": usage.output,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
    }


def decode_messages_reply(data: dict[str, Any], now: int) -> Reply:
    blocks: list[Text | ToolCall | Reasoning] = []
    for block in data.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            blocks.append(Text(str(block.get("text", ""))))
        elif kind == "tool_use":
            blocks.append(
                ToolCall(
                    str(block.get("id", "")), str(block.get("name", "")), json_bytes(block.get("input") or {}).decode()
                )
            )
        elif kind == "thinking":
            blocks.append(Reasoning(str(block.get("thinking", "")), block.get("signature")))
    return Reply(
        str(data.get("id") or "msg_unknown"),
        str(data.get("model") or ""),
        now,
        blocks,
        STOP_IN.get(data.get("stop_reason"), "end"),
        data.get("stop_sequence") if isinstance(data.get("stop_sequence"), str) else None,
        decode_usage(data.get("usage")),
    )


def encode_block(block: Text | ToolCall | Reasoning) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": tool_id(block.id), "name": block.name, "input": _arguments(block.arguments)}
    return {"type": "thinking", "thinking": block.text, "signature": block.signature or ""}


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamFormatError("the model's tool call arguments are not a JSON object")
    return value


def encode_messages_reply(reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [encode_block(b) for b in reply.blocks],
        "stop_reason": STOP_OUT[reply.stop],
        "stop_sequence": reply.stop_sequence,
        "usage": encode_usage(reply.usage or Usage(0, 0)),
    }
