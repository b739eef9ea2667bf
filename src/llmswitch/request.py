"""What the routing pipeline knows about one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from llmswitch.protocols.openai_chat import ChatRequest
from llmswitch.tokens import estimate_tokens


@dataclass
class RouteRequest:
    headers: Mapping[str, str]
    chat: ChatRequest
    # Per-request memo for signals, so each derived value is computed at most once.
    memo: dict[str, object] = field(default_factory=dict)

    @cached_property
    def user_text_folded(self) -> str:
        return self.chat.user_text.casefold()

    @cached_property
    def prompt_tokens(self) -> int:
        return estimate_tokens(self.chat.conversation_text)
