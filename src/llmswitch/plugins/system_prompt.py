"""The `system_prompt` plugin: insert, replace, prepend or append a system prompt.

Chat completions keep it in `system`/`developer` messages, OpenAI Responses in `instructions`
(and `system`/`developer` input items), Anthropic Messages in `system` (a string or text blocks).
Prepending or appending joins the texts with a blank line; with content parts or blocks, a text
part is added instead, so the client's parts (and their cache_control) stay as they were.
"""

from __future__ import annotations

from typing import Any

from llmswitch.config.plugins import SystemPromptPlugin
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Respond

_SYSTEM_ROLES = frozenset({"system", "developer"})


def _joined(content: Any, text: str, mode: str, part_type: str) -> Any:
    """`content` (a string, a list of parts, or nothing) with `text` before or after it."""
    if isinstance(content, list):
        part = {"type": part_type, "text": text}
        return [part, *content] if mode == "prepend" else [*content, part]
    if isinstance(content, str) and content:
        return f"{text}\n\n{content}" if mode == "prepend" else f"{content}\n\n{text}"
    return text


def _is_system_item(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") in _SYSTEM_ROLES and item.get("type", "message") == "message"


def apply_chat(data: dict[str, Any], text: str, mode: str, role: str) -> bool:
    messages = data["messages"]
    found = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") in _SYSTEM_ROLES]
    if mode == "insert" and found:
        return False
    if mode == "replace" or not found:
        messages[:] = [m for i, m in enumerate(messages) if i not in set(found)]
        messages.insert(0, {"role": role, "content": text})
        return True
    first = messages[found[0]]
    messages[found[0]] = {**first, "content": _joined(first.get("content"), text, mode, "text")}
    return True


def apply_responses(data: dict[str, Any], text: str, mode: str) -> bool:
    items = data.get("input")
    items = items if isinstance(items, list) else []
    found = [i for i, item in enumerate(items) if _is_system_item(item)]
    instructions = data.get("instructions")
    has_instructions = isinstance(instructions, str) and bool(instructions)
    if mode == "insert" and (has_instructions or found):
        return False
    if mode == "replace":
        data["instructions"] = text
        if found:
            data["input"] = [item for i, item in enumerate(items) if i not in set(found)]
        return True
    if has_instructions or not found:
        data["instructions"] = _joined(instructions, text, mode, "input_text")
        return True
    first = items[found[0]]
    items[found[0]] = {**first, "content": _joined(first.get("content"), text, mode, "input_text")}
    return True


def apply_messages(data: dict[str, Any], text: str, mode: str) -> bool:
    system = data.get("system")
    if mode == "insert" and system:
        return False
    data["system"] = text if mode == "replace" else _joined(system, text, mode, "text")
    return True


class SystemPrompt:
    def __init__(self, config: SystemPromptPlugin) -> None:
        self.text = config.text
        self.mode = config.mode
        self.role = config.role
        self.apis = frozenset(config.apis)

    async def apply(self, exchange: Exchange) -> Respond | None:
        api = exchange.plan.api
        if exchange.view is None or api not in self.apis:
            return None
        data = exchange.data
        if api == "chat":
            changed = apply_chat(data, self.text, self.mode, self.role)
        elif api == "responses":
            changed = apply_responses(data, self.text, self.mode)
        else:
            changed = apply_messages(data, self.text, self.mode)
        exchange.body_changed = exchange.body_changed or changed
        return None
