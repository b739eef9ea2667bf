"""Anthropic Messages request bodies <-> the neutral `Conversation`."""

from __future__ import annotations

import re
from typing import Any

import orjson

from llmswitch.protocols.openai_chat import dump_json
from llmswitch.protocols.translate import fields as f
from llmswitch.protocols.translate.fields import drop_unknown_keys, other_fields
from llmswitch.protocols.translate.ir import (
    Block,
    Conversation,
    File,
    Image,
    Opaque,
    Reasoning,
    Text,
    Tool,
    ToolCall,
    ToolChoice,
    ToolResult,
)
from llmswitch.protocols.translate.names import WireApi, untranslatable

ADVISORY: dict[str, tuple[Any, ...]] = {
    "top_k": (),
    "service_tier": ("auto",),
    "cache_control": (),
    "inference_geo": (),
    "speed": ("standard",),
}
_TRANSLATED = frozenset(
    {
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p",
        "tools", "tool_choice", "thinking", "output_config",
    }
)  # fmt: skip
_REFUSED = {
    "container": "code execution containers have no equivalent",
    "mcp_servers": "MCP servers have no equivalent",
    "context_management": "context management has no equivalent",
}
_TOOL_KEYS = frozenset({"type", "name", "description", "input_schema", "strict", "cache_control"})
_TOOL_ID = re.compile(r"[^a-zA-Z0-9_-]")
_EFFORT_OUT = {"minimal": "low"}
_EMPTY_TEXT = {"type": "text", "text": ""}


def decode_messages(data: dict[str, Any]) -> Conversation:
    conv = Conversation()
    if data.get("max_tokens") is None:
        raise f.missing("max_tokens")
    conv.max_tokens = f.opt_positive_int(data["max_tokens"], "max_tokens")
    messages = data.get("messages")
    if messages is None:
        raise f.missing("messages")
    conv.system = _decode_system(conv, data.get("system"))
    for index, message in enumerate(f.array(messages, "messages")):
        where = f"messages[{index}]"
        message = f.obj(message, where)
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise f.invalid(f"{where}.role", "'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise f.missing(f"{where}.content")
        conv.add(role, _decode_blocks(conv, content, f"{where}.content"))
    _decode_params(conv, data)
    return conv


def _decode_params(conv: Conversation, data: dict[str, Any]) -> None:
    conv.stream = bool(f.opt_bool(data.get("stream"), "stream"))
    conv.stop = [
        f.string(s, f"stop_sequences[{i}]")
        for i, s in enumerate(f.array(data.get("stop_sequences") or [], "stop_sequences"))
    ]
    conv.temperature = f.opt_number(data.get("temperature"), "temperature")
    conv.top_p = f.opt_number(data.get("top_p"), "top_p")
    metadata = f.obj(data.get("metadata") or {}, "metadata")
    conv.user = f.opt_string(metadata.get("user_id"), "metadata.user_id")
    conv.tools = [
        t
        for i, tool in enumerate(f.array(data.get("tools") or [], "tools"))
        if (t := _decode_tool(conv, tool, f"tools[{i}]"))
    ]
    _decode_tool_choice(conv, data.get("tool_choice"))
    output = f.obj(data.get("output_config") or {}, "output_config")
    conv.effort = f.opt_string(output.get("effort"), "output_config.effort") or _thinking_effort(data.get("thinking"))
    if output.get("format") is not None:
        spec, kind = f.typed(output["format"], "output_config.format")
        if kind != "json_schema":
            conv.refuse("output_config.format", f"'{kind}' output has no equivalent")
        else:
            schema = f.obj(spec.get("schema"), "output_config.format.schema")
            conv.json_schema = {"name": None, "schema": schema, "strict": None}
    other_fields(conv, data, _TRANSLATED, ADVISORY, _REFUSED)


def _thinking_effort(thinking: Any) -> str | None:
    """Extended thinking with a token budget reads as a reasoning effort; adaptive or disabled as the default."""
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        raise f.invalid("thinking.budget_tokens", "an integer")
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def _decode_system(conv: Conversation, system: Any) -> list[str]:
    if system is None:
        return []
    if isinstance(system, str):
        return [system]
    texts = []
    for i, block in enumerate(f.array(system, "system")):
        block, kind = f.typed(block, f"system[{i}]")
        if kind != "text":
            raise f.invalid(f"system[{i}].type", "'text'")
        texts.append(f.string(block.get("text"), f"system[{i}].text"))
        if block.get("cache_control") is not None:
            conv.drop("cache_control")
    return texts


def _decode_blocks(conv: Conversation, content: Any, where: str) -> list[Block]:
    if isinstance(content, str):
        return [Text(content, where)]
    return [_decode_block(conv, block, f"{where}[{i}]") for i, block in enumerate(f.array(content, where))]


def _decode_block(conv: Conversation, block: Any, where: str) -> Block:
    block, kind = f.typed(block, where)
    if block.get("cache_control") is not None:
        conv.drop("cache_control")
    if kind == "text":
        if block.get("citations"):
            conv.drop("citations")
        return Text(f.string(block.get("text"), f"{where}.text"), where)
    if kind == "image":
        return _decode_image(block, where)
    if kind == "document":
        return _decode_document(conv, block, where)
    if kind == "tool_use":
        arguments = dump_json(f.obj(block.get("input"), f"{where}.input")).decode()
        return ToolCall(
            f.string(block.get("id"), f"{where}.id"), f.string(block.get("name"), f"{where}.name"), arguments, where
        )
    if kind == "tool_result":
        return _decode_tool_result(conv, block, where)
    if kind == "thinking":
        return Reasoning(
            f.string(block.get("thinking"), f"{where}.thinking"),
            f.opt_string(block.get("signature"), f"{where}.signature"),
            where,
        )
    if kind == "redacted_thinking":
        return Reasoning("", f.opt_string(block.get("data"), f"{where}.data"), where)
    return Opaque(kind, where)


def _decode_image(block: dict[str, Any], where: str) -> Image | Opaque:
    source, kind = f.typed(block.get("source"), f"{where}.source")
    if kind == "base64":
        media_type = f.string(source.get("media_type"), f"{where}.source.media_type")
        return Image(f.data_url(media_type, f.string(source.get("data"), f"{where}.source.data")), where)
    if kind == "url":
        return Image(f.string(source.get("url"), f"{where}.source.url"), where)
    return Opaque(f"image source '{kind}'", f"{where}.source")


def _decode_document(conv: Conversation, block: dict[str, Any], where: str) -> Block:
    source, kind = f.typed(block.get("source"), f"{where}.source")
    for key in ("title", "context", "citations"):
        if block.get(key) is not None:
            conv.drop(f"document.{key}")
    if kind == "base64":
        media_type = f.string(source.get("media_type"), f"{where}.source.media_type")
        return File(
            f.data_url(media_type, f.string(source.get("data"), f"{where}.source.data")), block.get("title"), where
        )
    if kind == "url":
        return File(f.string(source.get("url"), f"{where}.source.url"), block.get("title"), where)
    if kind == "text":
        return Text(f.string(source.get("data"), f"{where}.source.data"), where)
    return Opaque(f"document source '{kind}'", f"{where}.source")


def _decode_tool_result(conv: Conversation, block: dict[str, Any], where: str) -> ToolResult:
    call_id = f.string(block.get("tool_use_id"), f"{where}.tool_use_id")
    content = block.get("content")
    blocks: list[Any] = [] if content is None else _decode_blocks(conv, content, f"{where}.content")
    for inner in blocks:
        if not isinstance(inner, Text | Image | File):
            raise f.invalid(inner.where, "a text, image or document block")
    return ToolResult(call_id, blocks, bool(f.opt_bool(block.get("is_error"), f"{where}.is_error")), where)


def _decode_tool(conv: Conversation, tool: Any, where: str) -> Tool | None:
    tool = f.obj(tool, where)
    kind = tool.get("type")
    if kind not in (None, "custom"):
        conv.refuse(where, f"the server tool '{kind}' has no equivalent")
        return None
    if tool.get("cache_control") is not None:
        conv.drop("cache_control")
    drop_unknown_keys(conv, tool, _TOOL_KEYS, "tools[]")
    return Tool(
        f.string(tool.get("name"), f"{where}.name"),
        f.opt_string(tool.get("description"), f"{where}.description"),
        f.obj(tool.get("input_schema"), f"{where}.input_schema"),
        f.opt_bool(tool.get("strict"), f"{where}.strict"),
    )


def _decode_tool_choice(conv: Conversation, choice: Any) -> None:
    if choice is None:
        return
    choice, kind = f.typed(choice, "tool_choice")
    modes = {"auto": "auto", "any": "required", "none": "none", "tool": "tool"}
    if kind not in modes:
        raise f.invalid("tool_choice.type", "one of 'auto', 'any', 'tool', 'none'")
    name = f.string(choice.get("name"), "tool_choice.name") if kind == "tool" else None
    conv.tool_choice = ToolChoice(modes[kind], name)  # type: ignore[arg-type]
    if f.opt_bool(choice.get("disable_parallel_tool_use"), "tool_choice.disable_parallel_tool_use"):
        conv.parallel_tool_calls = False


def tool_id(call_id: str) -> str:
    """Anthropic tool ids match `[a-zA-Z0-9_-]+`; other APIs' ids are mapped to one deterministically."""
    return _TOOL_ID.sub("_", call_id) or "_"


def encode_messages(
    conv: Conversation, source: WireApi, *, default_max_tokens: int
) -> tuple[dict[str, Any], list[str]]:
    """The Messages body (without `model`) and the advisory fields left out."""
    if conv.untranslatable:
        raise untranslatable(*conv.untranslatable[0], source, "messages")
    messages = []
    for turn in conv.turns:
        blocks = [b for b in turn.blocks if isinstance(b, ToolResult)] + [
            b for b in turn.blocks if not isinstance(b, ToolResult)
        ]
        encoded = [e for block in blocks if (e := _encode_block(conv, block, turn.role, source)) is not None]
        # The API refuses empty text blocks; they carry nothing, so they go unless nothing else is left.
        content = [e for e in encoded if e != _EMPTY_TEXT] or encoded
        messages.append({"role": turn.role, "content": content})
    body: dict[str, Any] = {"max_tokens": conv.max_tokens or default_max_tokens, "messages": messages}
    if conv.system:
        body["system"] = conv.system[0] if len(conv.system) == 1 else [{"type": "text", "text": t} for t in conv.system]
    if conv.stop:
        body["stop_sequences"] = conv.stop
    for key in ("temperature", "top_p"):
        if getattr(conv, key) is not None:
            body[key] = getattr(conv, key)
    if conv.user is not None:
        body["metadata"] = {"user_id": conv.user}
    output: dict[str, Any] = {}
    if conv.effort not in (None, "none"):
        output["effort"] = _EFFORT_OUT.get(conv.effort, conv.effort)
    if conv.json_schema is not None:
        output["format"] = {"type": "json_schema", "schema": conv.json_schema["schema"]}
    if output:
        body["output_config"] = output
    if conv.tools:
        body["tools"] = [_encode_tool(tool) for tool in conv.tools]
        choice = _encode_tool_choice(conv)
        if choice is not None:
            body["tool_choice"] = choice
    if conv.stream:
        body["stream"] = True
    return body, conv.dropped


def _encode_tool(tool: Tool) -> dict[str, Any]:
    encoded: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description is not None:
        encoded["description"] = tool.description
    if tool.strict is not None:
        encoded["strict"] = tool.strict
    return encoded


def _encode_tool_choice(conv: Conversation) -> dict[str, Any] | None:
    choice = conv.tool_choice
    if choice is None and conv.parallel_tool_calls is not False:
        return None
    mode = "auto" if choice is None else choice.mode
    encoded: dict[str, Any] = {"type": {"required": "any"}.get(mode, mode)}
    if choice is not None and choice.mode == "tool":
        encoded["name"] = choice.name
    if conv.parallel_tool_calls is False and mode != "none":
        encoded["disable_parallel_tool_use"] = True
    return encoded


def _encode_block(conv: Conversation, block: Block, role: str, source: WireApi) -> dict[str, Any] | None:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": tool_id(block.id), "name": block.name, "input": _arguments(block, source)}
    if isinstance(block, ToolResult):
        encoded: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(block.call_id)}
        content = [_encode_block(conv, inner, role, source) for inner in block.content]
        encoded["content"] = content[0]["text"] if len(content) == 1 and content[0]["type"] == "text" else content  # type: ignore[index]
        if block.is_error:
            encoded["is_error"] = True
        return encoded
    if isinstance(block, Reasoning):
        conv.drop("reasoning")
        return None
    if role == "user" and isinstance(block, Image):
        return {"type": "image", "source": _source(block.url)}
    if role == "user" and isinstance(block, File):
        encoded = {"type": "document", "source": _source(block.url)}
        if block.filename:
            encoded["title"] = block.filename
        return encoded
    kind = f"'{block.type}' block" if isinstance(block, Opaque) else type(block).__name__.lower()
    raise untranslatable(block.where, f"a {kind} in a {role} turn has no equivalent", source, "messages")


def _source(url: str) -> dict[str, Any]:
    split = f.split_data_url(url)
    if split is None:
        return {"type": "url", "url": url}
    return {"type": "base64", "media_type": split[0], "data": split[1]}


def _arguments(call: ToolCall, source: WireApi) -> dict[str, Any]:
    if not call.arguments.strip():
        return {}
    try:
        value = orjson.loads(call.arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise untranslatable(call.where, "the arguments must be a JSON object", source, "messages")
    return value
