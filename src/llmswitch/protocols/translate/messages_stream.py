"""Anthropic Messages streams (named events: message_start, content_block_*, message_delta, message_stop,
ping, error) <-> neutral events."""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.protocols.errors import anthropic_error_status, anthropic_error_type
from llmswitch.protocols.sse import SseEvent, sse_named
from llmswitch.protocols.translate.chat_stream import load_event
from llmswitch.protocols.translate.ir import (
    ArgumentsDelta,
    BlockStarted,
    BlockStopped,
    Ended,
    Event,
    Failed,
    Reasoning,
    ReasoningDelta,
    SignatureDelta,
    Started,
    Stopped,
    StopReason,
    Text,
    TextDelta,
    ToolCall,
    Usage,
    UsageSeen,
)
from llmswitch.protocols.translate.messages_request import tool_id
from llmswitch.protocols.translate.messages_response import STOP_IN, STOP_OUT, decode_usage, encode_usage

_DELTAS = {
    "text_delta": ("text", TextDelta),
    "input_json_delta": ("partial_json", ArgumentsDelta),
    "thinking_delta": ("thinking", ReasoningDelta),
    "signature_delta": ("signature", SignatureDelta),
}


class MessagesStreamDecoder:
    def __init__(self, now: int) -> None:
        self.now = now
        self.complete = False
        """A stop reason arrived (message_delta); message_stop may still follow."""
        self._indices: dict[int, int] = {}
        self._usage: Usage | None = None

    def decode(self, event: SseEvent) -> list[Event]:
        if event.event == "ping":
            return []
        data = load_event(event.data)
        kind = data.get("type", event.event)
        if kind == "content_block_delta":
            index = self._indices.get(data.get("index", -1))
            delta = data.get("delta") or {}
            known = _DELTAS.get(delta.get("type"))
            if index is None or known is None or not isinstance(delta.get(known[0]), str):
                return []  # a block or delta only Anthropic has (citations, server tools)
            return [known[1](index, delta[known[0]])]
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "content_block_stop":
            index = self._indices.get(data.get("index", -1))
            return [] if index is None else [BlockStopped(index)]
        if kind == "message_start":
            message = data.get("message") or {}
            self._usage = decode_usage(message.get("usage"))
            return [
                Started(str(message.get("id") or "msg_unknown"), str(message.get("model") or ""), self.now, self._usage)
            ]
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "message_stop":
            return [Ended()]
        if kind == "error":
            error = data.get("error") or {}
            error_type = str(error.get("type") or "api_error")
            return [Failed(anthropic_error_status(error_type), error_type, str(error.get("message")))]
        return []

    def _block_start(self, data: dict[str, Any]) -> list[Event]:
        block = data.get("content_block") or {}
        kind = block.get("type")
        index = len(self._indices)
        if kind == "text":
            started: Text | ToolCall | Reasoning = Text("")
        elif kind == "tool_use":
            started = ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), "")
        elif kind == "thinking":
            started = Reasoning("")
        else:
            return []
        self._indices[data.get("index", -1)] = index
        out: list[Event] = [BlockStarted(index, started)]
        if kind == "text" and block.get("text"):
            out.append(TextDelta(index, block["text"]))
        return out

    def _message_delta(self, data: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        delta = data.get("delta") or {}
        if delta.get("stop_reason"):
            self.complete = True
            sequence = delta.get("stop_sequence")
            out.append(
                Stopped(STOP_IN.get(delta["stop_reason"], "end"), sequence if isinstance(sequence, str) else None)
            )
        usage = decode_usage(data.get("usage"), self._usage)
        if usage is not None:
            out.append(UsageSeen(usage))
        return out


def _event(payload: dict[str, Any]) -> bytes:
    return sse_named(payload["type"], orjson.dumps(payload))


class MessagesStreamEncoder:
    """Writes Anthropic's named events; `message_delta` (stop reason and usage) waits for the end of the stream,
    since a chat stream reports usage after its finish reason."""

    def __init__(self, request: dict[str, Any] | None) -> None:
        self.closed = False
        self._stop: StopReason = "end"
        self._stop_sequence: str | None = None
        self._usage: Usage | None = None

    def encode(self, event: Event) -> bytes:
        if isinstance(event, TextDelta):
            return self._delta(event.index, {"type": "text_delta", "text": event.text})
        if isinstance(event, ArgumentsDelta):
            return self._delta(event.index, {"type": "input_json_delta", "partial_json": event.json})
        if isinstance(event, ReasoningDelta):
            return self._delta(event.index, {"type": "thinking_delta", "thinking": event.text})
        if isinstance(event, SignatureDelta):
            return self._delta(event.index, {"type": "signature_delta", "signature": event.signature})
        if isinstance(event, BlockStarted):
            return _event(
                {"type": "content_block_start", "index": event.index, "content_block": _empty_block(event.block)}
            )
        if isinstance(event, BlockStopped):
            return _event({"type": "content_block_stop", "index": event.index})
        if isinstance(event, Started):
            self._usage = event.usage
            message = {
                "id": event.id,
                "type": "message",
                "role": "assistant",
                "model": event.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": encode_usage(event.usage or Usage(0, 0)),
            }
            return _event({"type": "message_start", "message": message})
        if isinstance(event, Stopped):
            self._stop, self._stop_sequence = event.reason, event.stop_sequence
        elif isinstance(event, UsageSeen):
            self._usage = event.usage
        elif isinstance(event, Ended):
            self.closed = True
            delta = {"stop_reason": STOP_OUT[self._stop], "stop_sequence": self._stop_sequence}
            usage = encode_usage(self._usage or Usage(0, 0))
            return _event({"type": "message_delta", "delta": delta, "usage": usage}) + _event({"type": "message_stop"})
        elif isinstance(event, Failed):
            self.closed = True
            return _event(
                {"type": "error", "error": {"type": anthropic_error_type(event.status), "message": event.message}}
            )
        return b""

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> bytes:
        return _event({"type": "content_block_delta", "index": index, "delta": delta})


def _empty_block(block: Text | ToolCall | Reasoning) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": ""}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": tool_id(block.id), "name": block.name, "input": {}}
    return {"type": "thinking", "thinking": "", "signature": ""}
