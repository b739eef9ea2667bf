"""POST /v1/messages, as Anthropic answers it: a `message` object, or named SSE events (message_start,
content_block_start, ping, content_block_delta, content_block_stop, message_delta, message_stop).

Requests need the `anthropic-version` header and `max_tokens`, as the real API does; errors are
`{"type": "error", "error": {"type", "message"}}` with Anthropic's type for the status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from llmswitch.demo.stubs.common import (
    STREAM_CHUNK_DELAY_S,
    STREAM_CHUNKS,
    StubState,
    ToolUse,
    completion_tokens,
    prompt_tokens,
    split_in_three,
    text_of,
    tool_use,
)
from llmswitch.protocols.errors import anthropic_error_type


def anthropic_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}, status_code=status
    )


def _system_text(system: Any) -> str:
    return system if isinstance(system, str) else text_of(system)


def _tool_use(data: dict) -> ToolUse | None:
    tools = [t for t in data.get("tools") or [] if isinstance(t, dict) and t.get("type") in (None, "custom")]
    messages = [m for m in data["messages"] if isinstance(m, dict)]
    last = text_of(messages[-1].get("content")) if messages and messages[-1].get("role") == "user" else ""
    return tool_use([(t.get("name"), t.get("input_schema")) for t in tools], last)


def _event(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def messages(state: StubState, request: Request) -> Response:
    body = await state.record(request)
    if state.failing:
        return anthropic_error(state.failing, f"{state.name} is failing")
    if not request.headers.get("anthropic-version"):
        return anthropic_error(400, "anthropic-version: header is required")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return anthropic_error(400, "There was an issue with the format of your request: invalid JSON")
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return anthropic_error(400, "messages: Field required")
    if not isinstance(data.get("max_tokens"), int):
        return anthropic_error(400, "max_tokens: Field required")
    name, model, call = state.name, data.get("model", ""), _tool_use(data)
    texts = [
        _system_text(data.get("system")),
        *(text_of(m.get("content")) for m in data["messages"] if isinstance(m, dict)),
    ]
    input_tokens = prompt_tokens(texts)
    output_tokens, capped = completion_tokens(data["max_tokens"])
    stop = "tool_use" if call else "max_tokens" if capped else "end_turn"
    text = f"Calling {call.name}." if call else f"Hello from {name}."
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message: dict[str, Any] = {"id": f"msg_{name}", "type": "message", "role": "assistant", "model": model}
    if not data.get("stream"):
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if call:
            content.append({"type": "tool_use", "id": f"toolu_{name}_0", "name": call.name, "input": call.arguments})
        answer = {**message, "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}
        return JSONResponse(answer, headers=state.headers)

    async def events() -> AsyncIterator[bytes]:
        start_usage = {**usage, "output_tokens": 1}
        yield _event(
            {
                "type": "message_start",
                "message": {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage},
            }
        )
        yield _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        yield _event({"type": "ping"})
        pieces = [text] if call else [f"{name} part {index}. " for index in range(STREAM_CHUNKS)]
        for piece in pieces:
            await asyncio.sleep(STREAM_CHUNK_DELAY_S)
            yield _event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
            if state.cut_streams:
                return
        yield _event({"type": "content_block_stop", "index": 0})
        if call:
            block = {"type": "tool_use", "id": f"toolu_{name}_0", "name": call.name, "input": {}}
            yield _event({"type": "content_block_start", "index": 1, "content_block": block})
            for piece in ["", *split_in_three(call.json)]:
                yield _event(
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    }
                )
            yield _event({"type": "content_block_stop", "index": 1})
        yield _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            }
        )
        yield _event({"type": "message_stop"})

    return StreamingResponse(events(), media_type="text/event-stream", headers=state.headers)
