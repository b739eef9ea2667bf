"""Neutral events -> OpenAI Responses stream events (named, each with a `sequence_number`).

Per output item: `response.output_item.added`, for a message or reasoning item
`response.content_part.added` / `*.delta` / `*.done` / `response.content_part.done`, for a function
call `response.function_call_arguments.delta` / `.done`, then `response.output_item.done`. The
stream opens with `response.created` and `response.in_progress` and closes with
`response.completed` (or `response.incomplete`), whose `response` holds the whole output, so the
encoder keeps each item's text as it passes.
"""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.sse import sse_named
from llmswitch.protocols.translate.fields import json_bytes
from llmswitch.protocols.translate.ir import (
    ArgumentsDelta,
    BlockStarted,
    BlockStopped,
    Ended,
    Event,
    Failed,
    Reasoning,
    ReasoningDelta,
    Started,
    Stopped,
    StopReason,
    Text,
    TextDelta,
    ToolCall,
    Usage,
    UsageSeen,
)
from llmswitch.protocols.translate.responses_response import (
    item_id,
    output_item,
    response_id,
    response_object,
    status_of,
)


class ResponsesStreamEncoder:
    def __init__(self, request: dict[str, Any] | None) -> None:
        self.request = request
        self.closed = False
        self._sequence = 0
        self._id = "resp_unknown"
        self._created = 0
        self._model = ""
        self._blocks: dict[int, Text | ToolCall | Reasoning] = {}
        self._texts: dict[int, list[str]] = {}
        self._open: set[int] = set()
        self._stop: StopReason = "end"
        self._usage: Usage | None = None

    def encode(self, event: Event) -> bytes:
        if isinstance(event, TextDelta | ReasoningDelta | ArgumentsDelta):
            return self._delta(event)
        if isinstance(event, BlockStarted):
            return self._block_started(event)
        if isinstance(event, BlockStopped):
            return self._block_stopped(event.index)
        if isinstance(event, Started):
            self._id, self._created, self._model = response_id(event.id), event.created, event.model
            response = self._response("in_progress")
            return self._emit("response.created", response=response) + self._emit(
                "response.in_progress", response=response
            )
        if isinstance(event, Stopped):
            self._stop = event.reason
        elif isinstance(event, UsageSeen):
            self._usage = event.usage
        elif isinstance(event, Ended):
            self.closed = True
            out = b"".join(self._block_stopped(index) for index in sorted(self._open))
            status, incomplete = status_of(self._stop)
            kind = "response.completed" if status == "completed" else "response.incomplete"
            return out + self._emit(kind, response=self._response(status, usage=self._usage, incomplete=incomplete))
        elif isinstance(event, Failed):
            self.closed = True
            return self._emit("error", code=event.code, message=event.message, param=None)
        return b""

    def _emit(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, **fields, "sequence_number": self._sequence}
        self._sequence += 1
        return sse_named(kind, json_bytes(payload))

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        output = [self._item(index, "completed") for index in sorted(self._blocks)] if status != "in_progress" else []
        return response_object(
            self._id, self._created, self._model, self.request, status=status, output=output, **extra
        )

    def _item(self, index: int, status: str) -> dict[str, Any]:
        block, text = self._blocks[index], "".join(self._texts[index])
        if isinstance(block, ToolCall):
            return output_item(ToolCall(block.id, block.name, text), self._id, index, status)
        return output_item(Text(text) if isinstance(block, Text) else Reasoning(text), self._id, index, status)

    def _block_started(self, event: BlockStarted) -> bytes:
        index, block = event.index, event.block
        self._blocks[index] = block
        self._texts[index] = []
        self._open.add(index)
        item = self._item(index, "in_progress")
        if isinstance(block, Text | Reasoning):
            item["content"] = []
        added = self._emit("response.output_item.added", output_index=index, item=item)
        if isinstance(block, ToolCall):
            return added
        part = _part(block, "")
        return added + self._emit(
            "response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part
        )

    def _delta(self, event: TextDelta | ReasoningDelta | ArgumentsDelta) -> bytes:
        if event.index not in self._open:
            return b""
        text = event.json if isinstance(event, ArgumentsDelta) else event.text
        self._texts[event.index].append(text)
        item_id = self._item_id(event.index)
        if isinstance(event, ArgumentsDelta):
            return self._emit(
                "response.function_call_arguments.delta", item_id=item_id, output_index=event.index, delta=text
            )
        if isinstance(event, TextDelta):
            fields = {"content_index": 0, "delta": text, "logprobs": []}
            return self._emit("response.output_text.delta", item_id=item_id, output_index=event.index, **fields)
        return self._emit(
            "response.reasoning_text.delta", item_id=item_id, output_index=event.index, content_index=0, delta=text
        )

    def _item_id(self, index: int) -> str:
        block = self._blocks[index]
        return item_id(
            "fc" if isinstance(block, ToolCall) else "msg" if isinstance(block, Text) else "rs", self._id, index
        )

    def _block_stopped(self, index: int) -> bytes:
        if index not in self._open:
            return b""
        self._open.discard(index)
        block, item = self._blocks[index], self._item(index, "completed")
        text, where = "".join(self._texts[index]), {"item_id": item["id"], "output_index": index}
        if isinstance(block, ToolCall):
            done = self._emit("response.function_call_arguments.done", **where, arguments=text)
        elif isinstance(block, Text):
            done = self._emit("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
        else:
            done = self._emit("response.reasoning_text.done", **where, content_index=0, text=text)
        if not isinstance(block, ToolCall):
            done += self._emit("response.content_part.done", **where, content_index=0, part=_part(block, text))
        return done + self._emit("response.output_item.done", output_index=index, item=item)


def _part(block: Text | Reasoning, text: str) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "reasoning_text", "text": text}
