"""OpenAI chat completions request bodies <-> the neutral `Conversation`."""

from __future__ import annotations

from typing import Any

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
    Turn,
)
from llmswitch.protocols.translate.names import WireApi, untranslatable

# Advisory fields, with the values that ask for nothing (leaving those out loses nothing).
ADVISORY: dict[str, tuple[Any, ...]] = {
    "frequency_penalty": (0,),
    "presence_penalty": (0,),
    "seed": (),
    "service_tier": ("auto", "default"),
    "metadata": ({},),
    "store": (False,),
    "prompt_cache_key": (),
    "prompt_cache_retention": (),
    "prompt_cache_options": (),
    "prediction": (),
    "verbosity": (),
}
_TRANSLATED = frozenset(
    {
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "stop", "temperature",
        "top_p", "tools", "tool_choice", "parallel_tool_calls", "user", "safety_identifier", "reasoning_effort",
        "response_format", "n", "logprobs", "top_logprobs", "modalities",
    }
)  # fmt: skip
_REFUSED = {
    "audio": "audio output has no equivalent",
    "functions": "the deprecated 'functions' has no equivalent; use 'tools'",
    "function_call": "the deprecated 'function_call' has no equivalent; use 'tool_choice'",
    "logit_bias": "token biases have no equivalent",
    "web_search_options": "built-in web search has no equivalent",
    "moderation": "moderation policies have no equivalent",
}
_EFFORT_OUT = {"max": "xhigh"}
_TOOL_KEYS = frozenset({"name", "description", "parameters", "strict"})


def decode_chat(data: dict[str, Any]) -> Conversation:
    conv = Conversation()
    messages = data.get("messages")
    if messages is None:
        raise f.missing("messages")
    for index, message in enumerate(f.array(messages, "messages")):
        _decode_message(conv, f.obj(message, f"messages[{index}]"), f"messages[{index}]")
    _decode_params(conv, data)
    return conv


def _decode_params(conv: Conversation, data: dict[str, Any]) -> None:
    conv.stream = bool(f.opt_bool(data.get("stream"), "stream"))
    conv.max_tokens = f.opt_positive_int(data.get("max_completion_tokens"), "max_completion_tokens") or (
        f.opt_positive_int(data.get("max_tokens"), "max_tokens")
    )
    conv.stop = f.stop_list(data.get("stop"), "stop")
    conv.temperature = f.opt_number(data.get("temperature"), "temperature")
    conv.top_p = f.opt_number(data.get("top_p"), "top_p")
    conv.user = f.opt_string(data.get("safety_identifier"), "safety_identifier") or f.opt_string(
        data.get("user"), "user"
    )
    conv.effort = f.opt_string(data.get("reasoning_effort"), "reasoning_effort")
    conv.parallel_tool_calls = f.opt_bool(data.get("parallel_tool_calls"), "parallel_tool_calls")
    tools = f.array(data.get("tools") or [], "tools")
    conv.tools = [t for i, tool in enumerate(tools) if (t := _decode_tool(conv, tool, f"tools[{i}]"))]
    conv.tool_choice = decode_openai_tool_choice(conv, data.get("tool_choice"), "tool_choice", nested=True)
    conv.json_schema = _decode_response_format(conv, data.get("response_format"))
    if data.get("n") not in (None, 1):
        conv.refuse("n", "only one choice (n = 1) can be asked for")
    if data.get("logprobs"):
        conv.refuse("logprobs", "log probabilities have no equivalent")
    if data.get("top_logprobs"):
        conv.refuse("top_logprobs", "log probabilities have no equivalent")
    if data.get("modalities") not in (None, ["text"]):
        conv.refuse("modalities", "only text output has an equivalent")
    other_fields(conv, data, _TRANSLATED, ADVISORY, _REFUSED)


def _decode_message(conv: Conversation, message: dict[str, Any], where: str) -> None:
    role = message.get("role")
    content = message.get("content")
    if message.get("name") is not None:
        conv.drop("messages[].name")
    if role in ("system", "developer"):
        conv.system.append(_plain_text(content, f"{where}.content"))
    elif role == "user":
        if content is None:
            raise f.missing(f"{where}.content")
        conv.add("user", _decode_parts(conv, content, f"{where}.content"))
    elif role == "assistant":
        blocks = [] if content is None else _decode_parts(conv, content, f"{where}.content")
        if isinstance(message.get("refusal"), str):
            blocks.append(Text(message["refusal"], f"{where}.refusal"))
        for i, call in enumerate(f.array(message.get("tool_calls") or [], f"{where}.tool_calls")):
            blocks.append(_decode_tool_call(call, f"{where}.tool_calls[{i}]"))
        for key in ("audio", "function_call"):
            if message.get(key) is not None:
                blocks.append(Opaque(key, f"{where}.{key}"))
        conv.add("assistant", blocks)
    elif role == "tool":
        call_id = f.string(message.get("tool_call_id"), f"{where}.tool_call_id")
        conv.add("user", [ToolResult(call_id, [Text(_plain_text(content, f"{where}.content"))], where=where)])
    elif role == "function":
        conv.add("user", [Opaque("function", where)])
    else:
        raise f.invalid(f"{where}.role", "one of 'system', 'developer', 'user', 'assistant', 'tool'")


def _plain_text(content: Any, where: str) -> str:
    """System, developer and tool messages: a string or an array of text parts."""
    if isinstance(content, str):
        return content
    texts = []
    for i, part in enumerate(f.array(content, where)):
        part, kind = f.typed(part, f"{where}[{i}]")
        if kind != "text":
            raise f.invalid(f"{where}[{i}].type", "'text'")
        texts.append(f.string(part.get("text"), f"{where}[{i}].text"))
    return "\n".join(texts)


def _decode_parts(conv: Conversation, content: Any, where: str) -> list[Block]:
    if isinstance(content, str):
        return [Text(content, where)]
    blocks: list[Block] = []
    for i, part in enumerate(f.array(content, where)):
        at = f"{where}[{i}]"
        part, kind = f.typed(part, at)
        if kind == "text":
            blocks.append(Text(f.string(part.get("text"), f"{at}.text"), at))
        elif kind == "refusal":
            blocks.append(Text(f.string(part.get("refusal"), f"{at}.refusal"), at))
        elif kind == "image_url":
            image = f.obj(part.get("image_url"), f"{at}.image_url")
            blocks.append(Image(f.string(image.get("url"), f"{at}.image_url.url"), at))
            if image.get("detail") not in (None, "auto"):
                conv.drop("image_url.detail")
        elif kind == "file" and isinstance((file := f.obj(part.get("file"), f"{at}.file")).get("file_data"), str):
            blocks.append(File(file["file_data"], f.opt_string(file.get("filename"), f"{at}.file.filename"), at))
        else:
            blocks.append(Opaque(kind, at))  # input_audio, file ids
    return blocks


def _decode_tool_call(call: Any, where: str) -> ToolCall | Opaque:
    call, kind = f.typed(call, where)
    if kind != "function":
        return Opaque(kind, where)
    function = f.obj(call.get("function"), f"{where}.function")
    return ToolCall(
        f.string(call.get("id"), f"{where}.id"),
        f.string(function.get("name"), f"{where}.function.name"),
        f.string(function.get("arguments"), f"{where}.function.arguments"),
        f"{where}.function.arguments",
    )


def _decode_tool(conv: Conversation, tool: Any, where: str) -> Tool | None:
    tool, kind = f.typed(tool, where)
    if kind != "function":
        conv.refuse(where, f"'{kind}' tools have no equivalent")
        return None
    function = f.obj(tool.get("function"), f"{where}.function")
    drop_unknown_keys(conv, function, _TOOL_KEYS, "tools[].function")
    return Tool(
        f.string(function.get("name"), f"{where}.function.name"),
        f.opt_string(function.get("description"), f"{where}.function.description"),
        f.obj(function.get("parameters") or {"type": "object", "properties": {}}, f"{where}.function.parameters"),
        f.opt_bool(function.get("strict"), f"{where}.function.strict"),
    )


def decode_openai_tool_choice(conv: Conversation, choice: Any, where: str, *, nested: bool) -> ToolChoice | None:
    """Chat (`{"type": "function", "function": {"name"}}`, nested) and Responses (`{"type", "name"}`) tool_choice."""
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return ToolChoice(choice)
    if isinstance(choice, dict) and choice.get("type") == "function":
        named = f.obj(choice.get("function"), f"{where}.function") if nested else choice
        return ToolChoice("tool", f.string(named.get("name"), f"{where}.function.name" if nested else f"{where}.name"))
    conv.refuse(where, "only 'auto', 'none', 'required' and a named function have an equivalent")
    return None


def _decode_response_format(conv: Conversation, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    value, kind = f.typed(value, "response_format")
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = f.obj(value.get("json_schema"), "response_format.json_schema")
        schema = f.obj(spec.get("schema"), "response_format.json_schema.schema")
        return {"name": spec.get("name"), "schema": schema, "strict": spec.get("strict")}
    conv.refuse("response_format", f"'{kind}' output has no equivalent; use 'json_schema'")
    return None


def encode_chat(conv: Conversation, source: WireApi) -> tuple[dict[str, Any], list[str]]:
    """The chat completions body (without `model`) and the advisory fields left out."""
    if conv.untranslatable:
        raise untranslatable(*conv.untranslatable[0], source, "chat")
    messages: list[dict[str, Any]] = []
    if conv.system:
        texts = conv.system
        messages.append({"role": "system", "content": texts[0] if len(texts) == 1 else [_text_part(t) for t in texts]})
    for turn in conv.turns:
        messages.extend(_encode_turn(conv, turn, source))
    body: dict[str, Any] = {"messages": messages}
    if conv.max_tokens is not None:
        body["max_completion_tokens"] = conv.max_tokens
    if conv.stop:
        body["stop"] = conv.stop
    for key in ("temperature", "top_p", "user"):
        if getattr(conv, key) is not None:
            body[key] = getattr(conv, key)
    if conv.effort is not None:
        body["reasoning_effort"] = _EFFORT_OUT.get(conv.effort, conv.effort)
    if conv.json_schema is not None:
        spec = {"name": conv.json_schema["name"] or "output", "schema": conv.json_schema["schema"]}
        if conv.json_schema["strict"] is not None:
            spec["strict"] = conv.json_schema["strict"]
        body["response_format"] = {"type": "json_schema", "json_schema": spec}
    if conv.tools:
        body["tools"] = [_encode_tool(tool) for tool in conv.tools]
        if conv.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = conv.parallel_tool_calls
    if conv.tool_choice is not None and (conv.tools or conv.tool_choice.mode == "none"):
        choice = conv.tool_choice
        body["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}} if choice.mode == "tool" else choice.mode
        )
    if conv.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body, conv.dropped


def _encode_tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _encode_turn(conv: Conversation, turn: Turn, source: WireApi) -> list[dict[str, Any]]:
    if turn.role == "assistant":
        return [_encode_assistant(conv, turn, source)]
    messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in turn.blocks:
        if isinstance(block, ToolResult):
            messages.append(_encode_tool_result(conv, block, source))
        elif isinstance(block, Reasoning):
            conv.drop("reasoning")
        else:
            parts.append(_encode_part(block, source))
    if parts:
        only_text = len(parts) == 1 and parts[0]["type"] == "text"
        messages.append({"role": "user", "content": parts[0]["text"] if only_text else parts})
    return messages


def _encode_assistant(conv: Conversation, turn: Turn, source: WireApi) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in turn.blocks:
        if isinstance(block, Text):
            texts.append(block.text)
        elif isinstance(block, ToolCall):
            calls.append(
                {"id": block.id, "type": "function", "function": {"name": block.name, "arguments": block.arguments}}
            )
        elif isinstance(block, Reasoning):
            conv.drop("reasoning")
        else:
            raise untranslatable(
                block.where, f"a {_kind(block)} in an assistant turn has no equivalent", source, "chat"
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _encode_tool_result(conv: Conversation, result: ToolResult, source: WireApi) -> dict[str, Any]:
    texts = []
    for block in result.content:
        if not isinstance(block, Text):
            raise untranslatable(block.where, f"a {_kind(block)} in a tool result has no equivalent", source, "chat")
        texts.append(block.text)
    if result.is_error:
        conv.drop("is_error")
    return {"role": "tool", "tool_call_id": result.call_id, "content": "\n".join(texts)}


def _encode_part(block: Block, source: WireApi) -> dict[str, Any]:
    if isinstance(block, Text):
        return _text_part(block.text)
    if isinstance(block, Image):
        return {"type": "image_url", "image_url": {"url": block.url}}
    if isinstance(block, File) and f.split_data_url(block.url) is not None:
        file: dict[str, Any] = {"file_data": block.url}
        if block.filename:
            file["filename"] = block.filename
        return {"type": "file", "file": file}
    raise untranslatable(block.where, f"a {_kind(block)} has no equivalent", source, "chat")


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _kind(block: Block) -> str:
    if isinstance(block, Opaque):
        return f"'{block.type}' block"
    if isinstance(block, File):
        return "file given by URL"
    return type(block).__name__.lower()
