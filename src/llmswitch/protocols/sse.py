"""Server-sent events: an incremental parser for chunks split anywhere, and the writer.

The parser follows the WHATWG event-stream rules that matter for model APIs: lines end in
`\\n`, `\\r\\n` or `\\r`; `data:` lines of one event join with `\\n`; a blank line dispatches;
`:` lines are comments; one space after the colon is dropped. Bytes are decoded only once an
event is complete, so a chunk boundary inside a UTF-8 character or a `\\r\\n` is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str | None
    data: str


class SseParser:
    """Feed raw chunks; get back every event they complete."""

    def __init__(self) -> None:
        self._partial = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[SseEvent]:
        buffer = self._partial + chunk
        if b"\r" in buffer:
            held = b"\r" if buffer.endswith(b"\r") else b""  # maybe the first half of a \r\n
            if held:
                buffer = buffer[:-1]
            lines = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            self._partial = lines.pop() + held
        else:
            lines = buffer.split(b"\n")
            self._partial = lines.pop()
        events: list[SseEvent] = []
        for line in lines:
            if not line:
                if self._data or self._event is not None:
                    events.append(self._dispatch())
                continue
            name, colon, value = line.partition(b":")
            if not name:
                continue  # comment
            if colon and value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
        return events

    def _dispatch(self) -> SseEvent:
        event = SseEvent(self._event, b"\n".join(self._data).decode("utf-8", "replace"))
        self._event = None
        self._data = []
        return event


def sse_data(payload: bytes) -> bytes:
    """One unnamed event (OpenAI chat completions)."""
    return b"data: " + payload + b"\n\n"


def sse_named(event: str, payload: bytes) -> bytes:
    """One named event (Anthropic Messages, OpenAI Responses)."""
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
