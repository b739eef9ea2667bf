"""POST /v1/chat/completions, as OpenAI answers it: a `chat.completion`, or `chat.completion.chunk` events
ending in `data: [DONE]` (with a usage chunk first when `stream_options.include_usage` is set)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

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


def openai_error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": code, "param": None}}, status_code=status)


def usage(data: dict) -> dict:
    messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
    prompt = prompt_tokens(text_of(m.get("content")) for m in messages)
    completion, _ = completion_tokens(data.get("max_completion_tokens") or data.get("max_tokens"))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_use(data: dict) -> ToolUse | None:
    tools = [
        t.get("function") or {} for t in data.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"
    ]
    users = [m for m in data.get("messages") or [] if isinstance(m, dict) and m.get("role") in ("user", "tool")]
    last = text_of(users[-1].get("content")) if users and users[-1].get("role") == "user" else ""
    return tool_use([(t.get("name"), t.get("parameters")) for t in tools], last)


def _chunk(name: str, model: str, delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    payload: dict[str, Any] = {
        "id": f"chatcmpl-{name}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        payload["usage"] = usage
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def chat(state: StubState, request: Request) -> Response:
    body = await state.record(request)
    if state.failing:
        return openai_error(state.failing, f"{state.name} is failing", "stub_failure", "server_error")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return openai_error(400, "We could not parse the JSON body of your request.", "invalid_json")
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return openai_error(400, "Missing required parameter: 'messages'.", "missing_required_parameter")
    name, model, call = state.name, data.get("model", ""), _tool_use(data)
    counted = {**usage(data), **state.usage_override}
    capped = completion_tokens(data.get("max_completion_tokens") or data.get("max_tokens"))[1]
    finish = "tool_calls" if call else "length" if capped else "stop"
    if not data.get("stream"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if call else f"Hello from {name}.",
            "refusal": None,
        }
        if call:
            message["tool_calls"] = [
                {"id": f"call_{name}_0", "type": "function", "function": {"name": call.name, "arguments": call.json}}
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        completion = {"id": f"chatcmpl-{name}", "object": "chat.completion", "created": CREATED, "model": model}
        return JSONResponse({**completion, "choices": [choice], "usage": counted}, headers=state.headers)
    include_usage = (data.get("stream_options") or {}).get("include_usage")

    async def events() -> AsyncIterator[bytes]:
        yield _chunk(name, model, {"role": "assistant", "content": "" if not call else None})
        if call:
            opening = {
                "index": 0,
                "id": f"call_{name}_0",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield _chunk(name, model, {"tool_calls": [opening]})
            pieces = split_in_three(call.json)
        else:
            pieces = [f"{name} part {index}. " for index in range(STREAM_CHUNKS)]
        for piece in pieces:
            await asyncio.sleep(STREAM_CHUNK_DELAY_S)
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} if call else {"content": piece}
            yield _chunk(name, model, delta)
            if state.cut_streams:
                return
        yield _chunk(name, model, {}, finish=finish)
        if include_usage:
            yield _chunk(name, model, None, usage=counted)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers=state.headers)
