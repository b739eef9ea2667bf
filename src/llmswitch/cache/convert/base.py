"""What every client API's converter offers, and the pieces they share."""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.protocols.sse import SseEvent, SseParser


def events(body: bytes) -> list[SseEvent]:
    """The events of a whole stored stream."""
    return SseParser().feed(body)


def json_object(text: str | bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def ends_with(found: list[SseEvent], *names: str) -> bool:
    return bool(found) and found[-1].event in names and not any(e.event == "error" for e in found)


class ApiCodec:
    """Completeness checks of stored answers, and conversions between their JSON and SSE shapes."""

    def complete_json(self, body: bytes) -> bool:
        raise NotImplementedError

    def complete_stream(self, body: bytes) -> bool:
        raise NotImplementedError

    def to_stream(self, body: bytes, request: dict[str, Any], include_usage: bool) -> bytes | None:
        """A JSON answer as the stream the API would have sent for `request`; None if it cannot be read."""
        raise NotImplementedError

    def to_json(self, body: bytes) -> bytes | None:
        """A stored stream merged into the JSON answer; None if it cannot be read."""
        raise NotImplementedError
