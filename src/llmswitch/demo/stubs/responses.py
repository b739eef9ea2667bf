"""POST /v1/responses, as OpenAI answers it: a `response` object, or named SSE events, each with a
`sequence_number` (response.created, response.in_progress, response.output_item.added, ...,
response.completed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from llmswitch.demo.stubs.chat import openai_error
from llmswitch.demo.stubs.common import (
    CREATED,
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


def _items(data: dict) -> list[dict]:
    items = data["input"]
    return [{"role": "user", "content": items}] if isinstance(items, str) else [i for i in items if isinstance(i, dict)]


def _tool_use(data: dict) -> ToolUse | None:
    tools = [t for t in data.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
    items = _items(data)
    last = items[-1] if items else {}
    text = (
        text_of(last.get("content")) if last.get("type", "message") == "message" and last.get("role") == "user" else ""
    )
    return tool_use([(t.get("name"), t.get("parameters")) for t in tools], text)


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _response(name: str, data: dict, status: str, output: list, usage: dict | None) -> dict[str, Any]:
    incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
    return {
        "id": f"resp_{name}",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": data.get("instructions"),
        "max_output_tokens": data.get("max_output_tokens"),
        "model": data.get("model", ""),
        "output": output,
        "parallel_tool_calls": data.get("parallel_tool_calls", True),
        "previous_response_id": data.get("previous_response_id"),
        "reasoning": data.get("reasoning"),
        "store": data.get("store", True),
        "temperature": data.get("temperature", 1.0),
        "text": data.get("text", {"format": {"type": "text"}}),
        "tool_choice": data.get("tool_choice", "auto"),
        "tools": data.get("tools", []),
        "top_p": data.get("top_p", 1.0),
        "truncation": data.get("truncation", "disabled"),
        "usage": usage,
        "user": data.get("user"),
        "metadata": data.get("metadata", {}),
    }


def _message(name: str, text: str, status: str) -> dict[str, Any]:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    )
    return {"id": f"msg_{name}_0", "type": "message", "status": status, "role": "assistant", "content": content}


def _function_call(name: str, call: ToolUse, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": f"fc_{name}_0",
        "type": "function_call",
        "status": status,
        "call_id": f"call_{name}_0",
        "name": call.name,
        "arguments": arguments,
    }


async def responses(state: StubState, request: Request) -> Response:
    body = await state.record(request)
    if state.failing:
        return openai_error(state.failing, f"{state.name} is failing", "stub_failure", "server_error")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return openai_error(400, "We could not parse the JSON body of your request.", "invalid_json")
    if not isinstance(data, dict) or not isinstance(data.get("input"), str | list):
        return openai_error(400, "Missing required parameter: 'input'.", "missing_required_parameter")
    name, call = state.name, _tool_use(data)
    texts = [data.get("instructions") or "", *(text_of(i.get("content")) for i in _items(data))]
    output_tokens, capped = completion_tokens(data.get("max_output_tokens"))
    usage = _usage(prompt_tokens(texts), output_tokens)
    status = "incomplete" if capped and not call else "completed"
    if not data.get("stream"):
        item = (
            _function_call(name, call, call.json, "completed")
            if call
            else _message(name, f"Hello from {name}.", "completed")
        )
        return Response(
            orjson.dumps(_response(name, data, status, [item], usage)),
            media_type="application/json",
            headers=state.headers,
        )
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, **fields, "sequence_number": next(sequence)}
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    async def events() -> AsyncIterator[bytes]:
        pending = _response(name, data, "in_progress", [], None)
        yield event("response.created", response=pending)
        yield event("response.in_progress", response=pending)
        if call:
            yield event(
                "response.output_item.added", output_index=0, item=_function_call(name, call, "", "in_progress")
            )
            for piece in split_in_three(call.json):
                await asyncio.sleep(STREAM_CHUNK_DELAY_S)
                yield event(
                    "response.function_call_arguments.delta", item_id=f"fc_{name}_0", output_index=0, delta=piece
                )
                if state.cut_streams:
                    return
            yield event(
                "response.function_call_arguments.done", item_id=f"fc_{name}_0", output_index=0, arguments=call.json
            )
            item = _function_call(name, call, call.json, "completed")
        else:
            where = {"item_id": f"msg_{name}_0", "output_index": 0, "content_index": 0}
            yield event("response.output_item.added", output_index=0, item=_message(name, "", "in_progress"))
            yield event(
                "response.content_part.added",
                **where,
                part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            )
            pieces = [f"{name} part {index}. " for index in range(STREAM_CHUNKS)]
            for piece in pieces:
                await asyncio.sleep(STREAM_CHUNK_DELAY_S)
                yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
                if state.cut_streams:
                    return
            text = "".join(pieces)
            yield event("response.output_text.done", **where, text=text, logprobs=[])
            yield event(
                "response.content_part.done",
                **where,
                part={"type": "output_text", "text": text, "annotations": [], "logprobs": []},
            )
            item = _message(name, text, "completed")
        yield event("response.output_item.done", output_index=0, item=item)
        final = _response(name, data, status, [item], usage)
        yield event("response.completed" if status == "completed" else "response.incomplete", response=final)

    return StreamingResponse(events(), media_type="text/event-stream", headers=state.headers)
