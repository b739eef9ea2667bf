"""Chat completions: `chat.completion` objects and `chat.completion.chunk` streams ending in `[DONE]`.

Converted here rather than through the protocol layer's neutral representation, which keeps one
choice and no logprobs, refusals or system fingerprints.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.cache.convert.base import ApiCodec, events, json_object
from llmswitch.protocols.sse import sse_data

DONE = "[DONE]"


class ChatCodec(ApiCodec):
    """OpenAI chat completions: `chat.completion` objects and `chat.completion.chunk` streams ending in [DONE]."""

    def complete_json(self, body: bytes) -> bool:
        data = json_object(body)
        if data is None or "error" in data or data.get("object") != "chat.completion":
            return False
        choices = data.get("choices")
        return isinstance(choices, list) and bool(choices) and all(_finished(c) for c in choices)

    def complete_stream(self, body: bytes) -> bool:
        found = events(body)
        if not found or found[-1].data != DONE:
            return False
        finished: dict[int, bool] = {}
        for event in found[:-1]:
            chunk = json_object(event.data)
            if chunk is None or "error" in chunk or event.event not in (None, "message"):
                return False
            for choice in chunk.get("choices") or ():
                index = choice.get("index", 0) if isinstance(choice, dict) else 0
                finished[index] = finished.get(index, False) or _finished(choice)
        return bool(finished) and all(finished.values())

    def to_stream(self, body: bytes, request: dict[str, Any], include_usage: bool) -> bytes | None:
        data = json_object(body)
        if data is None:
            return None
        base = {
            key: data[key] for key in ("id", "created", "model", "system_fingerprint", "service_tier") if key in data
        }
        base["object"] = "chat.completion.chunk"
        out = []
        for choice in sorted(data.get("choices") or (), key=lambda c: c.get("index", 0)):
            out.extend(sse_data(orjson.dumps({**base, "choices": [c]})) for c in _choice_chunks(choice))
        if include_usage and data.get("usage") is not None:
            out.append(sse_data(orjson.dumps({**base, "choices": [], "usage": data["usage"]})))
        out.append(sse_data(DONE.encode()))
        return b"".join(out)

    def to_json(self, body: bytes) -> bytes | None:
        merged: dict[str, Any] = {}
        choices: dict[int, dict[str, Any]] = {}
        for event in events(body):
            if event.data == DONE:
                break
            chunk = json_object(event.data)
            if chunk is None:
                return None
            for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
                if key in chunk and key not in merged:
                    merged[key] = chunk[key]
            if chunk.get("usage") is not None:
                merged["usage"] = chunk["usage"]
            for choice in chunk.get("choices") or ():
                _merge_choice(choices.setdefault(choice.get("index", 0), {"index": choice.get("index", 0)}), choice)
        completion = {
            "id": merged.get("id"),
            "object": "chat.completion",
            "created": merged.get("created"),
            "model": merged.get("model"),
            "choices": [_completed_choice(choices[i]) for i in sorted(choices)],
            "usage": merged.get("usage"),
        }
        for key in ("system_fingerprint", "service_tier"):
            if key in merged:
                completion[key] = merged[key]
        return orjson.dumps(completion)


def _finished(choice: Any) -> bool:
    return isinstance(choice, dict) and choice.get("finish_reason") is not None


_TEXT_FIELDS = ("content", "reasoning_content", "reasoning", "refusal")


def _choice_chunks(choice: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream choices that spell out one completed choice: role, text fields, tool calls, finish."""
    index = choice.get("index", 0)
    message = choice.get("message") or {}

    def chunk(delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}

    first_content = "" if isinstance(message.get("content"), str) else None
    chunks = [chunk({"role": message.get("role", "assistant"), "content": first_content})]
    for field in _TEXT_FIELDS:
        if message.get(field):
            logprobs = choice.get("logprobs") if field == "content" else None
            chunks.append(chunk({field: message[field]}, logprobs=logprobs))
    calls = message.get("tool_calls") or []
    if calls:
        deltas = [
            {"index": i, "id": c.get("id"), "type": c.get("type", "function"), "function": c.get("function")}
            for i, c in enumerate(calls)
        ]
        chunks.append(chunk({"tool_calls": deltas}))
    if message.get("function_call"):
        chunks.append(chunk({"function_call": message["function_call"]}))
    chunks.append(chunk({}, choice.get("finish_reason")))
    return chunks


def _merge_choice(state: dict[str, Any], choice: dict[str, Any]) -> None:
    delta = choice.get("delta") or {}
    if delta.get("role"):
        state["role"] = delta["role"]
    for field in _TEXT_FIELDS:
        if isinstance(delta.get(field), str):
            state[field] = state.get(field, "") + delta[field]
    for call in delta.get("tool_calls") or ():
        calls = state.setdefault("tool_calls", {})
        slot = calls.setdefault(
            call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            slot["id"] = call["id"]
        if call.get("type"):
            slot["type"] = call["type"]
        function = call.get("function") or {}
        slot["function"]["name"] += function.get("name") or ""
        slot["function"]["arguments"] += function.get("arguments") or ""
    if isinstance(delta.get("function_call"), dict):
        legacy = state.setdefault("function_call", {"name": "", "arguments": ""})
        legacy["name"] += delta["function_call"].get("name") or ""
        legacy["arguments"] += delta["function_call"].get("arguments") or ""
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        state.setdefault("logprobs", {"content": []})["content"].extend(logprobs["content"])
    if choice.get("finish_reason") is not None:
        state["finish_reason"] = choice["finish_reason"]


def _completed_choice(state: dict[str, Any]) -> dict[str, Any]:
    calls = "tool_calls" in state or "function_call" in state
    content = state.get("content") or (None if calls else "")
    message: dict[str, Any] = {"role": state.get("role", "assistant"), "content": content}
    for field in _TEXT_FIELDS[1:]:
        if field in state:
            message[field] = state[field]
    if "tool_calls" in state:
        message["tool_calls"] = [state["tool_calls"][i] for i in sorted(state["tool_calls"])]
    if "function_call" in state:
        message["function_call"] = state["function_call"]
    return {
        "index": state["index"],
        "message": message,
        "logprobs": state.get("logprobs"),
        "finish_reason": state.get("finish_reason"),
    }
