"""Anthropic Messages request bodies (POST /v1/messages)."""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.translate.messages_request import decode_messages
from llmswitch.protocols.translate.view import view_of
from llmswitch.protocols.view import RequestView


def parse_messages(data: dict[str, Any], model: str) -> RequestView:
    """The routing view; `max_tokens` is required, as the Messages API requires it.

    Raises `RequestError` naming the field; render it with `err.body_for("messages")`.
    """
    return view_of("messages", data, model, decode_messages(data))
