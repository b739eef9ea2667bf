"""OpenAI Responses request bodies -> the neutral `Conversation` (Responses is never a translation target)."""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.translate import fields as f
from llmswitch.protocols.translate.chat_request import decode_openai_tool_choice
from llmswitch.protocols.translate.fields import drop_unknown_keys, other_fields
from llmswitch.protocols.translate.ir import Block, Conversation, File, Image, Opaque, Text, Tool, ToolCall, ToolResult

ADVISORY: dict[str, tuple[Any, ...]] = {
    "metadata": ({},),
    "store": (False,),
    "service_tier": ("auto", "default"),
    "include": ([],),
    "truncation": ("disabled",),
    "stream_options": (),
    "prompt_cache_key": (),
    "prompt_cache_retention": (),
    "prompt_cache_options": (),
}
_TRANSLATED = frozenset(
    {
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice",
        "parallel_tool_calls", "stream", "user", "safety_identifier", "reasoning", "text", "top_logprobs", "background",
    }
)  # fmt: skip
_TOOL_KEYS = frozenset({"type", "name", "description", "parameters", "strict"})
_STATE = "only the Responses API keeps conversation state between requests"
_REFUSED = {
    "previous_response_id": _STATE,
    "conversation": _STATE,
    "prompt": "stored prompt templates exist only in the Responses API",
    "max_tool_calls": "a cap on built-in tool calls has no equivalent",
    "context_management": "context management has no equivalent",
    "moderation": "moderation policies have no equivalent",
}


def decode_responses(data: dict[str, Any]) -> Conversation:
    conv = Conversation()
    instructions = f.opt_string(data.get("instructions"), "instructions")
    if instructions:
        conv.system.append(instructions)
    items = data.get("input")
    if items is None:
        raise f.missing("input")
    if isinstance(items, str):
        conv.add("user", [Text(items, "input")])
    else:
        for index, item in enumerate(f.array(items, "input")):
            _decode_item(conv, f.obj(item, f"input[{index}]"), f"input[{index}]")
    _decode_params(conv, data)
    return conv


def _decode_params(conv: Conversation, data: dict[str, Any]) -> None:
    conv.stream = bool(f.opt_bool(data.get("stream"), "stream"))
    conv.max_tokens = f.opt_positive_int(data.get("max_output_tokens"), "max_output_tokens")
    conv.temperature = f.opt_number(data.get("temperature"), "temperature")
    conv.top_p = f.opt_number(data.get("top_p"), "top_p")
    conv.user = f.opt_string(data.get("safety_identifier"), "safety_identifier") or f.opt_string(
        data.get("user"), "user"
    )
    conv.parallel_tool_calls = f.opt_bool(data.get("parallel_tool_calls"), "parallel_tool_calls")
    conv.tools = [
        t
        for i, tool in enumerate(f.array(data.get("tools") or [], "tools"))
        if (t := _decode_tool(conv, tool, f"tools[{i}]"))
    ]
    conv.tool_choice = decode_openai_tool_choice(conv, data.get("tool_choice"), "tool_choice", nested=False)
    reasoning = f.obj(data.get("reasoning") or {}, "reasoning")
    conv.effort = f.opt_string(reasoning.get("effort"), "reasoning.effort")
    if reasoning.get("summary") is not None or reasoning.get("generate_summary") is not None:
        conv.drop("reasoning.summary")
    text = f.obj(data.get("text") or {}, "text")
    if text.get("verbosity") is not None:
        conv.drop("text.verbosity")
    if text.get("format") is not None:
        spec, kind = f.typed(text["format"], "text.format")
        if kind == "json_schema":
            schema = f.obj(spec.get("schema"), "text.format.schema")
            conv.json_schema = {"name": spec.get("name"), "schema": schema, "strict": spec.get("strict")}
        elif kind != "text":
            conv.refuse("text.format", f"'{kind}' output has no equivalent; use 'json_schema'")
    if data.get("top_logprobs"):
        conv.refuse("top_logprobs", "log probabilities have no equivalent")
    if data.get("background"):
        conv.refuse("background", "background responses exist only in the Responses API")
    other_fields(conv, data, _TRANSLATED, ADVISORY, _REFUSED)


def _decode_item(conv: Conversation, item: dict[str, Any], where: str) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        content = item.get("content")
        if content is None:
            raise f.missing(f"{where}.content")
        if role in ("system", "developer"):
            conv.system.append(
                "\n".join(b.text for b in _decode_parts(conv, content, f"{where}.content") if isinstance(b, Text))
            )
        elif role in ("user", "assistant"):
            conv.add(role, _decode_parts(conv, content, f"{where}.content"))
        else:
            raise f.invalid(f"{where}.role", "one of 'user', 'assistant', 'system', 'developer'")
    elif kind == "function_call":
        call = ToolCall(
            f.string(item.get("call_id"), f"{where}.call_id"),
            f.string(item.get("name"), f"{where}.name"),
            f.string(item.get("arguments"), f"{where}.arguments"),
            f"{where}.arguments",
        )
        conv.add("assistant", [call])
    elif kind == "function_call_output":
        output = item.get("output")
        blocks = _decode_parts(conv, output, f"{where}.output") if output is not None else []
        result = ToolResult(
            f.string(item.get("call_id"), f"{where}.call_id"),
            [b for b in blocks if isinstance(b, Text | Image | File)],
            where=where,
        )
        conv.add("user", [result, *(b for b in blocks if isinstance(b, Opaque))])
    elif kind == "reasoning":
        conv.drop("reasoning")
    elif kind == "item_reference":
        conv.refuse(where, "items stored by the Responses API cannot be referenced elsewhere")
    else:
        conv.refuse(where, f"'{kind}' items have no equivalent")


def _decode_parts(conv: Conversation, content: Any, where: str) -> list[Block]:
    if isinstance(content, str):
        return [Text(content, where)]
    blocks: list[Block] = []
    for i, part in enumerate(f.array(content, where)):
        at = f"{where}[{i}]"
        part, kind = f.typed(part, at)
        if kind in ("input_text", "output_text"):
            blocks.append(Text(f.string(part.get("text"), f"{at}.text"), at))
        elif kind == "refusal":
            blocks.append(Text(f.string(part.get("refusal"), f"{at}.refusal"), at))
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            blocks.append(Image(part["image_url"], at))
            if part.get("detail") not in (None, "auto"):
                conv.drop("input_image.detail")
        elif kind == "input_file" and isinstance(part.get("file_data") or part.get("file_url"), str):
            blocks.append(
                File(
                    part.get("file_data") or part["file_url"], f.opt_string(part.get("filename"), f"{at}.filename"), at
                )
            )
        else:
            blocks.append(Opaque(kind, at))  # file ids, audio
    return blocks


def _decode_tool(conv: Conversation, tool: Any, where: str) -> Tool | None:
    tool, kind = f.typed(tool, where)
    if kind != "function":
        conv.refuse(where, f"the built-in tool '{kind}' has no equivalent")
        return None
    drop_unknown_keys(conv, tool, _TOOL_KEYS, "tools[]")
    return Tool(
        f.string(tool.get("name"), f"{where}.name"),
        f.opt_string(tool.get("description"), f"{where}.description"),
        f.obj(tool.get("parameters") or {"type": "object", "properties": {}}, f"{where}.parameters"),
        f.opt_bool(tool.get("strict"), f"{where}.strict"),
    )
