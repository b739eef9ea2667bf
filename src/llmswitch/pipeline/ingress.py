"""The client codec step: which API a request speaks, and what routing reads from its body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmswitch.protocols.errors import too_large
from llmswitch.protocols.openai_chat import load_json_object, parse_chat, requested_model
from llmswitch.protocols.view import ClientApi, RequestView

ROUTED_PATHS: dict[str, ClientApi] = {"/v1/chat/completions": "chat"}
"""The paths whose requests are routed by content, and the client API each speaks."""

_PARSERS: dict[ClientApi, Callable[[dict[str, Any], str], RequestView]] = {"chat": parse_chat}


def routed_api(path: str) -> ClientApi | None:
    """The client API of a routed path (query ignored), or None for any other path."""
    return ROUTED_PATHS.get(path.partition("?")[0])


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
    api = routed_api(path)
    data = load_json_object(body)
    model = requested_model(data)
    view = _PARSERS[api](data, model) if api is not None else None
    return ParsedRequest(api, data, model, view, len(body))
