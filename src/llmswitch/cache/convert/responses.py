"""OpenAI Responses: a `response` object, or a stream of named events ending in `response.completed`
(or `response.incomplete`), whose `response` is the whole answer.

A stream becomes JSON by taking that final `response`; JSON becomes a stream through the protocol
layer's Responses stream encoder, fed the events of the reply read back from the `output` items.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.cache.convert.base import ApiCodec, ends_with, events, json_object
from llmswitch.cache.convert.ir_stream import reply_events
from llmswitch.protocols.translate.ir import Reasoning, Reply, StopReason, Text, ToolCall, Usage
from llmswitch.protocols.translate.responses_stream import ResponsesStreamEncoder

_FINAL_EVENTS = ("response.completed", "response.incomplete")
_FINAL_STATUSES = ("completed", "incomplete")
_INCOMPLETE_STOPS: dict[str, StopReason] = {"max_output_tokens": "length", "content_filter": "content_filter"}


class ResponsesCodec(ApiCodec):
    def complete_json(self, body: bytes) -> bool:
        data = json_object(body)
        return data is not None and data.get("object") == "response" and data.get("status") in _FINAL_STATUSES

    def complete_stream(self, body: bytes) -> bool:
        return ends_with(events(body), *_FINAL_EVENTS)

    def to_stream(self, body: bytes, request: dict[str, Any], include_usage: bool) -> bytes | None:
        data = json_object(body)
        if data is None:
            return None
        encoder = ResponsesStreamEncoder(request)
        return b"".join(encoder.encode(event) for event in reply_events(decode_reply(data)))

    def to_json(self, body: bytes) -> bytes | None:
        found = events(body)
        if not ends_with(found, *_FINAL_EVENTS):
            return None
        final = json_object(found[-1].data)
        response = final.get("response") if final is not None else None
        return orjson.dumps(response) if isinstance(response, dict) else None


def _texts(item: dict[str, Any], kind: str) -> str:
    return "".join(
        str(p.get("text", "")) for p in item.get("content") or () if isinstance(p, dict) and p.get("type") == kind
    )


def decode_reply(data: dict[str, Any]) -> Reply:
    """The neutral reply a `response` object holds: its message, function call and reasoning items."""
    blocks: list[Text | ToolCall | Reasoning] = []
    for item in data.get("output") or ():
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            blocks.append(Text(_texts(item, "output_text")))
        elif kind == "function_call":
            blocks.append(
                ToolCall(str(item.get("call_id", "")), str(item.get("name", "")), str(item.get("arguments", "")))
            )
        elif kind == "reasoning":
            blocks.append(Reasoning(_texts(item, "reasoning_text")))
    details = data.get("incomplete_details") or {}
    stop = _INCOMPLETE_STOPS.get(details.get("reason", ""), "end") if data.get("status") == "incomplete" else "end"
    if stop == "end" and any(isinstance(b, ToolCall) for b in blocks):
        stop = "tool_calls"
    return Reply(
        str(data.get("id", "")),
        str(data.get("model", "")),
        int(data.get("created_at") or 0),
        blocks,
        stop,
        None,
        _usage(data.get("usage")),
    )


def _usage(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return Usage(
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        cache_read=int(input_details.get("cached_tokens") or 0),
        cache_write=int(input_details.get("cache_write_tokens") or 0),
        reasoning=int(output_details.get("reasoning_tokens") or 0),
    )
