"""What every stub API shares: the recorded requests, failure switches, token counts and the tool trigger.

Tool trigger: when a request offers function tools and its last user turn's text names one of them,
the stub answers with a call of the first such tool, whose arguments are one string property
(the schema's first property, else `input`) holding that text. A last turn of tool results has no
user text, so a tool loop always ends with a text answer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request

from llmswitch.demo.stubs.faults import Faults

UPSTREAM_HEADER = "x-upstream-name"
STREAM_CHUNKS = 4
STREAM_CHUNK_DELAY_S = 0.05
COMPLETION_TOKENS = 5
CREATED = 1_700_000_000
TEXT_PART_TYPES = ("text", "input_text", "output_text")


@dataclass
class StubState:
    name: str
    received: deque[dict] = field(default_factory=lambda: deque(maxlen=1000))
    failing: int = 0
    """A status every model endpoint answers with, in its own API's error shape (0: healthy)."""
    cut_streams: bool = False
    """Streams stop after their first text delta, without their closing events."""
    usage_override: dict[str, int] = field(default_factory=dict)
    """Token counts chat answers report instead of the counted ones (a faulty upstream)."""
    faults: Faults = field(default_factory=Faults)
    """Resets, hangs, self-healing and error headers (`llmswitch.demo.stubs.faults`)."""

    async def record(self, request: Request) -> bytes:
        body = await request.body()
        self.received.append(
            {"path": request.url.path, "headers": dict(request.headers), "body": body.decode("utf-8", "replace")}
        )
        return body

    @property
    def headers(self) -> dict[str, str]:
        return {UPSTREAM_HEADER: self.name}


@dataclass(frozen=True)
class ToolUse:
    name: str
    arguments: dict[str, str]

    @property
    def json(self) -> str:
        return orjson.dumps(self.arguments).decode()


def text_of(content: Any) -> str:
    """The text of a string, or of the text parts of a content array (any of the three APIs)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") in TEXT_PART_TYPES and isinstance(p.get("text"), str)
        )
    return ""


def prompt_tokens(texts: Iterable[str]) -> int:
    """About four UTF-8 bytes per token, as the router estimates."""
    return (sum(len(t.encode()) for t in texts) + 3) // 4


def completion_tokens(cap: Any) -> tuple[int, bool]:
    """(tokens, whether the cap cut the answer short)"""
    if isinstance(cap, int) and not isinstance(cap, bool) and 0 < cap < COMPLETION_TOKENS:
        return cap, True
    return COMPLETION_TOKENS, False


def tool_use(tools: list[tuple[str, Any]], last_user_text: str) -> ToolUse | None:
    """`tools`: (name, JSON schema) of each offered function tool."""
    for name, schema in tools:
        if name and name in last_user_text:
            properties = schema.get("properties") if isinstance(schema, dict) else None
            key = next(iter(properties), "input") if isinstance(properties, dict) and properties else "input"
            return ToolUse(name, {key: last_user_text})
    return None


def split_in_three(text: str) -> list[str]:
    """A tool call's arguments as a stream sends them: in pieces."""
    third = max(len(text) // 3, 1)
    return [text[:third], text[third : 2 * third], text[2 * third :]]
