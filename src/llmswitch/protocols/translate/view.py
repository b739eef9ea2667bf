"""The routing view of a decoded conversation: the same text a chat request of that conversation gives."""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.translate.ir import Conversation, Image, Text, ToolCall, ToolResult
from llmswitch.protocols.view import ClientApi, RequestView


def view_of(api: ClientApi, data: dict[str, Any], model: str, conv: Conversation) -> RequestView:
    user_parts: list[str] = []
    all_parts: list[str] = list(conv.system)
    tool_parts: list[str] = []
    images = False
    for turn in conv.turns:
        texts: list[str] = []
        other = False
        for block in turn.blocks:
            if isinstance(block, Text):
                texts.append(block.text)
            elif isinstance(block, ToolCall):
                tool_parts.append(block.arguments)
            elif isinstance(block, ToolResult):
                result = "\n".join(b.text for b in block.content if isinstance(b, Text))
                tool_parts.append(result)
                all_parts.append(result)
                images = images or any(isinstance(b, Image) for b in block.content)
            else:
                images = images or isinstance(block, Image)
                other = True
        if texts or other:
            text = "\n".join(texts)
            all_parts.append(text)
            if turn.role == "user":
                user_parts.append(text)
    return RequestView(
        api,
        data,
        model,
        conv.stream,
        "\n".join(user_parts),
        "\n".join(all_parts),
        user_parts[-1] if user_parts else "",
        "\n".join(tool_parts),
        has_tools=bool(data.get("tools")),
        has_images=images,
        max_output_tokens=conv.max_tokens,
    )
