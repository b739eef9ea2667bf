"""PII redaction of request bodies, in the shape of each client API.

`redact_request(api, data, ...)` replaces the PII spans in the chosen parts of a chat completions,
Anthropic Messages or OpenAI Responses body and returns the new body with counts per entity type
(never the text found). Parts:

| scope | chat completions | Anthropic Messages | OpenAI Responses |
| --- | --- | --- | --- |
| user | `user` turns (text and text parts) | `user` text blocks and text documents | `input` string, `user` messages |
| tool | `tool`/`function` turns, `tool_calls[].function.arguments`, `function_call.arguments` | `tool_result` blocks, `tool_use.input` | `function_call.arguments`, `function_call_output.output`, custom tool calls |
| system | `system`/`developer` turns | top-level `system` | `instructions`, `system`/`developer` messages |
| assistant | `assistant` turn text | `assistant` text blocks | `assistant` messages |

Function-call arguments are JSON inside a string: they are parsed, their string values redacted and the
result written back as JSON, so the arguments stay valid JSON (an argument string that is not JSON is
redacted as plain text). The body is copied only along the paths that change; the input is never
modified. The caller serialises the new body (and so sets its content-length).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from llmswitch.protocols.view import ClientApi
from llmswitch.safety.pii import PII_TYPES, find_pii, redact_text

Scope = Literal["user", "tool", "system", "assistant"]
DEFAULT_SCOPE: tuple[Scope, ...] = ("user", "tool")
DEFAULT_PLACEHOLDER = "[{TYPE}]"


@dataclass(frozen=True)
class RedactionResult:
    data: dict[str, Any]
    """The body with every span replaced (the input object itself when nothing was found)."""
    counts: dict[str, int]
    """Spans replaced per entity type."""

    @property
    def changed(self) -> bool:
        return bool(self.counts)


class _Redactor:
    def __init__(self, types: Collection[str], min_score: float, placeholder: str, scope: Collection[str]) -> None:
        self.types, self.min_score, self.placeholder = tuple(types), min_score, placeholder
        self.scope = frozenset(scope)
        self.counts: Counter[str] = Counter()

    def text(self, value: str) -> str:
        spans = find_pii(value, self.types, self.min_score)
        if not spans:
            return value
        self.counts.update(s.type for s in spans)
        return redact_text(value, spans, self.placeholder)

    def json_value(self, value: Any) -> Any:
        """Every string inside a JSON value (object keys are kept)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return _map_list(value, self.json_value)
        if isinstance(value, dict):
            return _map_dict(value, {k: self.json_value for k in value})
        return value

    def json_string(self, value: str) -> str:
        """A string holding JSON (function-call arguments): redacted inside, still valid JSON."""
        try:
            parsed = json.loads(value)
        except ValueError:
            return self.text(value)
        redacted = self.json_value(parsed)
        return value if redacted is parsed else json.dumps(redacted, ensure_ascii=False)

    def content(self, content: Any, text_types: Collection[str] = ("text", "input_text", "output_text")) -> Any:
        """A message content: a string, or a list of parts whose text-typed parts carry `text`."""
        if isinstance(content, str):
            return self.text(content)
        if isinstance(content, list):
            return _map_list(content, lambda p: self._text_part(p, text_types))
        return content

    def _text_part(self, part: Any, text_types: Collection[str]) -> Any:
        if isinstance(part, dict) and part.get("type") in text_types and isinstance(part.get("text"), str):
            return _map_dict(part, {"text": self.text})
        return part

    def wants(self, scope: Scope) -> bool:
        return scope in self.scope


def _map_list(items: list, fn: Callable[[Any], Any]) -> list:
    """`items` with `fn` applied to each, or `items` itself when no element changed."""
    new = [fn(item) for item in items]
    return items if all(a is b for a, b in zip(new, items, strict=True)) else new


def _map_dict(data: dict, fns: dict[str, Callable[[Any], Any]]) -> dict:
    """`data` with `fns[key]` applied to the keys it has, or `data` itself when no value changed."""
    changed = {k: v for k, fn in fns.items() if k in data for v in [fn(data[k])] if v is not data[k]}
    return {**data, **changed} if changed else data


# chat completions


def _chat_message(r: _Redactor, message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    role = message.get("role")
    fns: dict[str, Callable[[Any], Any]] = {}
    if role == "user" and r.wants("user") or role in ("system", "developer") and r.wants("system"):
        fns["content"] = r.content
    elif role in ("tool", "function") and r.wants("tool"):
        fns["content"] = r.content
    elif role == "assistant":
        if r.wants("assistant"):
            fns["content"] = r.content
        if r.wants("tool"):
            fns["tool_calls"] = lambda calls: (
                _map_list(calls, lambda c: _chat_tool_call(r, c)) if isinstance(calls, list) else calls
            )
            fns["function_call"] = lambda call: _arguments(r, call)
    return _map_dict(message, fns)


def _arguments(r: _Redactor, call: Any) -> Any:
    if isinstance(call, dict) and isinstance(call.get("arguments"), str):
        return _map_dict(call, {"arguments": r.json_string})
    return call


def _chat_tool_call(r: _Redactor, call: Any) -> Any:
    return _map_dict(call, {"function": lambda f: _arguments(r, f)}) if isinstance(call, dict) else call


def _chat(r: _Redactor, data: dict) -> dict:
    return _map_dict(
        data, {"messages": lambda ms: _map_list(ms, lambda m: _chat_message(r, m)) if isinstance(ms, list) else ms}
    )


# Anthropic Messages


def _anthropic_block(r: _Redactor, block: Any, role: str) -> Any:
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        if role == "user" and r.wants("user") or role == "assistant" and r.wants("assistant"):
            return _map_dict(block, {"text": r.text})
    elif kind == "document" and role == "user" and r.wants("user"):
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("data"), str):
            return _map_dict(block, {"source": lambda s: _map_dict(s, {"data": r.text})})
    elif kind == "tool_result" and r.wants("tool"):
        return _map_dict(block, {"content": lambda c: r.content(c, ("text",))})
    elif kind == "tool_use" and r.wants("tool"):
        return _map_dict(block, {"input": r.json_value})
    return block


def _anthropic_message(r: _Redactor, message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    role = message.get("role")
    content = message.get("content")
    if isinstance(content, str):
        return (
            _map_dict(message, {"content": r.text})
            if role == "user" and r.wants("user") or role == "assistant" and r.wants("assistant")
            else message
        )
    if isinstance(content, list):
        return _map_dict(message, {"content": lambda blocks: _map_list(blocks, lambda b: _anthropic_block(r, b, role))})
    return message


def _messages(r: _Redactor, data: dict) -> dict:
    fns: dict[str, Callable[[Any], Any]] = {
        "messages": lambda ms: _map_list(ms, lambda m: _anthropic_message(r, m)) if isinstance(ms, list) else ms
    }
    if r.wants("system"):
        fns["system"] = lambda s: r.content(s, ("text",))
    return _map_dict(data, fns)


# OpenAI Responses


def _responses_item(r: _Redactor, item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        wanted = (role == "user" and r.wants("user") or role in ("system", "developer") and r.wants("system")
                  or role == "assistant" and r.wants("assistant"))  # fmt: skip
        return _map_dict(item, {"content": r.content}) if wanted else item
    if not r.wants("tool"):
        return item
    if kind in ("function_call", "mcp_call"):
        return _map_dict(item, {"arguments": lambda a: r.json_string(a) if isinstance(a, str) else a,
                                "output": lambda o: r.text(o) if isinstance(o, str) else o})  # fmt: skip
    if kind in ("function_call_output", "custom_tool_call_output"):
        return _map_dict(item, {"output": r.content})
    if kind == "custom_tool_call":
        return _map_dict(item, {"input": lambda i: r.text(i) if isinstance(i, str) else i})
    return item


def _responses(r: _Redactor, data: dict) -> dict:
    def input_(value: Any) -> Any:
        if isinstance(value, str):
            return r.text(value) if r.wants("user") else value
        return _map_list(value, lambda i: _responses_item(r, i)) if isinstance(value, list) else value

    fns: dict[str, Callable[[Any], Any]] = {"input": input_}
    if r.wants("system"):
        fns["instructions"] = lambda s: r.text(s) if isinstance(s, str) else s
    return _map_dict(data, fns)


_BY_API: dict[str, Callable[[_Redactor, dict], dict]] = {"chat": _chat, "messages": _messages, "responses": _responses}


def redact_request(
    api: ClientApi,
    data: dict[str, Any],
    types: Collection[str] = PII_TYPES,
    scope: Collection[Scope] = DEFAULT_SCOPE,
    min_score: float = 0.5,
    placeholder: str = DEFAULT_PLACEHOLDER,
) -> RedactionResult:
    """Replace every PII span of `types` in the `scope` parts of a request body (see the module docstring).

    `placeholder` may name the entity type as `{type}` or `{TYPE}`; the default gives `[EMAIL]`.
    """
    if api not in _BY_API:
        raise ValueError(f"unknown client API {api!r}")
    redactor = _Redactor(types, min_score, placeholder, scope)
    new = _BY_API[api](redactor, data)
    return RedactionResult(new, dict(sorted(redactor.counts.items())))
