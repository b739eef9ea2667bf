"""OpenAI chat completions streams (`chat.completion.chunk` events, then `[DONE]`) <-> neutral events.

A chat stream has no block boundaries: the decoder opens a text block on the first content and
a tool block on each new `tool_calls[].index`, and closes the open one when the next begins or
the choice finishes.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.protocols.errors import openai_error_type
from llmswitch.protocols.sse import SseEvent, sse_data
from llmswitch.protocols.translate.chat_response import FINISH_IN, FINISH_OUT, decode_usage, encode_usage
from llmswitch.protocols.translate.ir import (
    ArgumentsDelta,
    BlockStarted,
    BlockStopped,
    Ended,
    Event,
    Failed,
    Started,
    Stopped,
    Text,
    TextDelta,
    ToolCall,
    UpstreamFormatError,
    Usage,
    UsageSeen,
)

DONE = b"data: [DONE]\n\n"


def load_event(data: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamFormatError(f"an event of the model's stream is not JSON: {data[:200]!r}") from None
    if not isinstance(value, dict):
        raise UpstreamFormatError("an event of the model's stream is not a JSON object")
    return value


class ChatStreamDecoder:
    def __init__(self, now: int) -> None:
        self.now = now
        self.complete = False
        """The choice finished (a finish_reason arrived); usage and `[DONE]` may still follow."""
        self._started = False
        self._open: int | None = None
        self._open_is_text = False
        self._next = 0
        self._tools: dict[int, int] = {}

    def decode(self, event: SseEvent) -> list[Event]:
        if event.data == "[DONE]":
            return [*self._close(), Ended()]
        chunk = load_event(event.data)
        error = chunk.get("error")
        if isinstance(error, dict):
            return [
                Failed(500, str(error.get("code") or error.get("type") or "upstream_error"), str(error.get("message")))
            ]
        out: list[Event] = []
        if not self._started:
            self._started = True
            created = chunk["created"] if isinstance(chunk.get("created"), int) else self.now
            out.append(Started(str(chunk.get("id") or "chatcmpl-unknown"), str(chunk.get("model") or ""), created))
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, out)
        usage = decode_usage(chunk.get("usage"))
        if usage is not None:
            out.append(UsageSeen(usage))
        return out

    def _choice(self, choice: dict[str, Any], out: list[Event]) -> None:
        delta = choice.get("delta") or {}
        text = delta.get("content") or delta.get("refusal")
        if isinstance(text, str) and text:
            if self._open is None or not self._open_is_text:
                out.extend(self._close())
                out.append(BlockStarted(self._begin(text=True), Text("")))
            out.append(TextDelta(self._open, text))  # type: ignore[arg-type]
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            position = call.get("index", 0)
            if position not in self._tools:
                out.extend(self._close())
                index = self._tools[position] = self._begin(text=False)
                call_id = str(call.get("id") or f"call_{index}")
                out.append(BlockStarted(index, ToolCall(call_id, str(function.get("name") or ""), "")))
            if function.get("arguments"):
                if self._tools[position] != self._open:
                    raise UpstreamFormatError("the model's stream interleaves the arguments of several tool calls")
                out.append(ArgumentsDelta(self._open, function["arguments"]))
        reason = choice.get("finish_reason")
        if reason:
            out.extend(self._close())
            out.append(Stopped(FINISH_IN.get(reason, "end")))
            self.complete = True

    def _begin(self, *, text: bool) -> int:
        self._open = index = self._next
        self._open_is_text = text
        self._next += 1
        return index

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [BlockStopped(index)]


class ChatStreamEncoder:
    """Writes `chat.completion.chunk` events; a usage chunk only if the client asked (`stream_options`)."""

    def __init__(self, request: dict[str, Any] | None) -> None:
        options = (request or {}).get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self.closed = False
        self._head: dict[str, Any] = {
            "id": "chatcmpl-unknown",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "",
        }
        self._tool_positions: dict[int, int] = {}
        self._usage: Usage | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse_data(orjson.dumps({**self._head, "choices": [choice]}))

    def encode(self, event: Event) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ArgumentsDelta):
            position = self._tool_positions.get(event.index)
            return (
                b""
                if position is None
                else self._chunk({"tool_calls": [{"index": position, "function": {"arguments": event.json}}]})
            )
        if isinstance(event, BlockStarted):
            if not isinstance(event.block, ToolCall):
                return b""
            position = self._tool_positions[event.index] = len(self._tool_positions)
            call = {
                "index": position,
                "id": event.block.id,
                "type": "function",
                "function": {"name": event.block.name, "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, Started):
            self._head = {
                "id": event.id,
                "object": "chat.completion.chunk",
                "created": event.created,
                "model": event.model,
            }
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, Stopped):
            return self._chunk({}, FINISH_OUT[event.reason])
        if isinstance(event, UsageSeen):
            self._usage = event.usage
            return b""
        if isinstance(event, Ended):
            self.closed = True
            if self.include_usage and self._usage is not None:
                return sse_data(orjson.dumps({**self._head, "choices": [], "usage": encode_usage(self._usage)})) + DONE
            return DONE
        if isinstance(event, Failed):
            self.closed = True
            error = {
                "message": event.message,
                "type": openai_error_type(event.status),
                "code": event.code,
                "param": None,
            }
            return sse_data(orjson.dumps({"error": error}))
        return b""  # block stops, reasoning: chat has no place for them
