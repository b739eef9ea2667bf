"""The client codec step: which API a request speaks, and what routing reads from its body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmswitch.protocols.anthropic_messages import parse_messages
from llmswitch.protocols.errors import too_large
from llmswitch.protocols.openai_chat import load_json_object, parse_chat, requested_model
from llmswitch.protocols.openai_responses import parse_responses
from llmswitch.protocols.paths import client_api
from llmswitch.protocols.view import ClientApi, RequestView

_PARSERS: dict[ClientApi, Callable[[dict[str, Any], str], RequestView]] = {
    "chat": parse_chat,
    "messages": parse_messages,
    "responses": parse_responses,
}


@dataclass
class ParsedRequest:
    api: ClientApi | None
    """None: a path that is not routed by content (it may still pass through to a named model)."""
    data: dict[str, Any]
    model: str
    """The `model` the client asked for."""
    view: RequestView | None
    size: int


def parse_request(path: str, body: bytes, max_body_bytes: int) -> ParsedRequest:
    """Decode and validate a request body; raises `RequestError` for anything the client must fix."""
    if len(body) > max_body_bytes:
        raise too_large(len(body), max_body_bytes)
    api = client_api(path)
    data = load_json_object(body)
    model = requested_model(data)
    view = _PARSERS[api](data, model) if api is not None else None
    return ParsedRequest(api, data, model, view, len(body))
