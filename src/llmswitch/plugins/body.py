"""Where the three client APIs keep the fields plugins change, and small helpers for nested keys.

At the actions step the body is still in the client's API (translation to the model's API happens
at egress): chat completions, OpenAI Responses or Anthropic Messages.
"""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.view import ClientApi

_OUTPUT_CAPS: dict[ClientApi, tuple[str, ...]] = {
    "chat": ("max_completion_tokens", "max_tokens"),
    "responses": ("max_output_tokens",),
    "messages": ("max_tokens",),
}


def output_cap_fields(api: ClientApi) -> tuple[str, ...]:
    """The body fields that cap output tokens; the first is the one to write when none is set."""
    return _OUTPUT_CAPS[api]


def output_cap(data: dict[str, Any], api: ClientApi) -> tuple[str, int] | None:
    """(field, value) of the output cap the request sets, if any."""
    for name in _OUTPUT_CAPS[api]:
        value = data.get(name)
        if is_number(value):
            return name, value
    return None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a nested key, creating (or replacing non-object) parents on the way."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[last] = value


def deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Merge `source` into `target`: nested objects merge, everything else is replaced (copied)."""
    for key, value in source.items():
        if isinstance(value, dict):
            child = target.get(key)
            if not isinstance(child, dict):
                child = target[key] = {}
            deep_merge(child, value)
        else:
            target[key] = list(value) if isinstance(value, list) else value
