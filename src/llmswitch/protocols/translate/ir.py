"""The neutral representation every API is decoded into and encoded from.

A request is a `Conversation` (system text, user/assistant turns of typed blocks, tools, sampling
parameters); a non-streamed answer is a `Reply`; a stream is a sequence of `Event`s. Each block
carries `where`, the field it came from, so an encoder that cannot express it names that field.
Decoders accept anything well-formed and record what has no neutral form (`untranslatable`,
`dropped`); only an encoder for another API refuses, so passthrough requests are never refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StopReason = Literal["end", "stop_sequence", "length", "tool_calls", "content_filter"]
Role = Literal["user", "assistant"]


@dataclass(slots=True)
class Text:
    text: str
    where: str = ""


@dataclass(slots=True)
class Image:
    url: str
    """An http(s) URL or a `data:<media type>;base64,<data>` URL."""
    where: str = ""


@dataclass(slots=True)
class File:
    """A PDF, as a base64 data URL or an http(s) URL."""

    url: str
    filename: str | None = None
    where: str = ""


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    """The call's arguments as JSON text (chat and Responses carry text, Anthropic an object)."""
    where: str = ""


@dataclass(slots=True)
class ToolResult:
    call_id: str
    content: list[Text | Image | File]
    is_error: bool = False
    where: str = ""


@dataclass(slots=True)
class Reasoning:
    text: str
    signature: str | None = None
    where: str = ""


@dataclass(slots=True)
class Opaque:
    """A block only its own API knows (server tool results, audio, file ids, ...)."""

    type: str
    where: str


Block = Text | Image | File | ToolCall | ToolResult | Reasoning | Opaque


@dataclass(slots=True)
class Turn:
    role: Role
    blocks: list[Block]


@dataclass(slots=True)
class Tool:
    name: str
    description: str | None
    parameters: dict[str, Any]
    strict: bool | None = None


@dataclass(slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None


@dataclass
class Conversation:
    system: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    user: str | None = None
    effort: str | None = None
    """Reasoning effort: none, minimal, low, medium, high, xhigh, max."""
    json_schema: dict[str, Any] | None = None
    """Structured output: {"name", "schema", "strict"}."""
    untranslatable: list[tuple[str, str]] = field(default_factory=list)
    """(field, why) for what no other API can express; a translation refuses the first one."""
    dropped: list[str] = field(default_factory=list)
    """Advisory fields a translation leaves out (reported to the client, never silently)."""

    def add(self, role: Role, blocks: list[Block]) -> None:
        """Append blocks, merging consecutive turns of the same role (chat's tool messages join a user turn)."""
        if self.turns and self.turns[-1].role == role:
            self.turns[-1].blocks.extend(blocks)
        else:
            self.turns.append(Turn(role, blocks))

    def refuse(self, where: str, why: str) -> None:
        self.untranslatable.append((where, why))

    def drop(self, where: str) -> None:
        if where not in self.dropped:
            self.dropped.append(where)


class UpstreamFormatError(ValueError):
    """An upstream answer that is not what its API promises (not JSON, a tool call's arguments not an object)."""


@dataclass(slots=True)
class Usage:
    input: int
    """Every prompt token, cached or not."""
    output: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0


@dataclass
class Reply:
    id: str
    model: str
    created: int
    blocks: list[Text | ToolCall | Reasoning]
    stop: StopReason
    stop_sequence: str | None
    usage: Usage | None


# Stream events, in the order a well-formed stream has them:
# Started, then per block BlockStarted / deltas / BlockStopped, then Stopped, UsageSeen, Ended.
# Failed may come at any point and ends the stream.


@dataclass(slots=True)
class Started:
    id: str
    model: str
    created: int
    usage: Usage | None = None


@dataclass(slots=True)
class BlockStarted:
    index: int
    block: Text | ToolCall | Reasoning


@dataclass(slots=True)
class TextDelta:
    index: int
    text: str


@dataclass(slots=True)
class ArgumentsDelta:
    index: int
    json: str


@dataclass(slots=True)
class ReasoningDelta:
    index: int
    text: str


@dataclass(slots=True)
class SignatureDelta:
    index: int
    signature: str


@dataclass(slots=True)
class BlockStopped:
    index: int


@dataclass(slots=True)
class Stopped:
    reason: StopReason
    stop_sequence: str | None = None


@dataclass(slots=True)
class UsageSeen:
    usage: Usage


@dataclass(slots=True)
class Ended:
    pass


@dataclass(slots=True)
class Failed:
    status: int
    """The HTTP status the error would have had (500 when the upstream did not say)."""
    code: str
    message: str


Event = (
    Started
    | BlockStarted
    | TextDelta
    | ArgumentsDelta
    | ReasoningDelta
    | SignatureDelta
    | BlockStopped
    | Stopped
    | UsageSeen
    | Ended
    | Failed
)
