"""Splitting a complete SSE body into events, and writing events (for stored streams)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    name: str | None
    data: str


def events(body: bytes) -> list[Event]:
    """The events of a whole stream: `data:` lines joined by newlines, `event:` names, comments skipped."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    found = []
    for block in text.split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, colon, value = line.partition(":")
            if not line or not field:
                continue
            value = value[1:] if colon and value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "event":
                name = value
        if data or name is not None:
            found.append(Event(name, "\n".join(data)))
    return found


def data_event(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"
