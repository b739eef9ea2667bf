"""The OpenAI Responses `response` object, built from a neutral `Reply` or a stream's output so far."""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.translate.ir import Reasoning, Reply, StopReason, Text, ToolCall, Usage

_INCOMPLETE: dict[StopReason, str] = {"length": "max_output_tokens", "content_filter": "content_filter"}
_ECHOED_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "parallel_tool_calls": True,
    "reasoning": None,
    "temperature": None,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
    "user": None,
    "metadata": {},
}


def response_id(upstream_id: str) -> str:
    return upstream_id if upstream_id.startswith("resp_") else f"resp_{upstream_id}"


def item_id(kind: str, response: str, index: int) -> str:
    """`msg_`, `fc_` or `rs_` ids, unique within the response and derived from its id."""
    return f"{kind}_{response.removeprefix('resp_')}_{index}"


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cache_read, "cache_write_tokens": usage.cache_write},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.input + usage.output,
    }


def status_of(stop: StopReason) -> tuple[str, dict[str, str] | None]:
    reason = _INCOMPLETE.get(stop)
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def output_item(block: Text | ToolCall | Reasoning, response: str, index: int, status: str) -> dict[str, Any]:
    if isinstance(block, Text):
        part = {"type": "output_text", "text": block.text, "annotations": [], "logprobs": []}
        return {
            "id": item_id("msg", response, index),
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [part],
        }
    if isinstance(block, ToolCall):
        return {
            "id": item_id("fc", response, index),
            "type": "function_call",
            "status": status,
            "call_id": block.id,
            "name": block.name,
            "arguments": block.arguments,
        }
    content = [{"type": "reasoning_text", "text": block.text}]
    return {
        "id": item_id("rs", response, index),
        "type": "reasoning",
        "status": status,
        "summary": [],
        "content": content,
    }


def response_object(
    rid: str,
    created: int,
    model: str,
    request: dict[str, Any] | None,
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None = None,
    incomplete: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The `response` object, echoing the client's request settings as the Responses API does."""
    request = request or {}
    body: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        "previous_response_id": None,
        "store": False,
        "truncation": "disabled",
        "usage": encode_usage(usage) if usage is not None else None,
    }
    for key, default in _ECHOED_DEFAULTS.items():
        body[key] = request.get(key, default)
    return body


def encode_responses_reply(reply: Reply, request: dict[str, Any] | None) -> dict[str, Any]:
    rid = response_id(reply.id)
    status, incomplete = status_of(reply.stop)
    output = [output_item(block, rid, i, "completed") for i, block in enumerate(reply.blocks)]
    return response_object(
        rid, reply.created, reply.model, request, status=status, output=output, usage=reply.usage, incomplete=incomplete
    )
