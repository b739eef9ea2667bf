"""What routing reads from a request, whichever client API it came in on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ClientApi = Literal["chat", "messages", "responses"]
"""chat: OpenAI chat completions; messages: Anthropic Messages; responses: OpenAI Responses."""


@dataclass
class RequestView:
    """A parsed request body; `data` is the full JSON object, rewritten in place on routing.

    Signals and decisions read only this view, so they do not know which API the request came in on.
    """

    api: ClientApi
    data: dict[str, Any]
    model: str
    stream: bool
    user_text: str
    """Every user turn's text, joined by newlines."""
    conversation_text: str
    """All the text the model reads (system prompt, every turn): what the token estimate counts."""
    last_user_text: str = ""
    """The latest user turn: what semantic signals classify."""
    tool_text: str = ""
    """Tool results and the arguments of the model's tool calls: text a user did not type but a model reads."""
    has_tools: bool = False
    has_images: bool = False
    max_output_tokens: int | None = None
