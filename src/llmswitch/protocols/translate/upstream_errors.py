"""Error bodies from upstream (any API, or plain text from a proxy) rewritten in the client's API, same status."""

from __future__ import annotations

from typing import Any

import orjson

from llmswitch.protocols.errors import RequestError, openai_error_type
from llmswitch.protocols.view import ClientApi

_MAX_TEXT = 1000


def upstream_error(body: bytes, status: int) -> RequestError:
    """Reads Anthropic (`{"type": "error", "error": {...}}`), OpenAI (`{"error": {...}}`) and vLLM-style
    (`{"object": "error", "message", "type"}`) errors; anything else becomes the message as text."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type") if isinstance(error.get("type"), str) else None
        param = error.get("param") if isinstance(error.get("param"), str) else None
        if data.get("type") == "error":  # Anthropic: its type names are not OpenAI's, keep it as the code
            return RequestError(status, kind or "upstream_error", error["message"], openai_error_type(status))
        code = error.get("code") if isinstance(error.get("code"), str) else kind
        return RequestError(
            status, code or "upstream_error", error["message"], kind or openai_error_type(status), param
        )
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        kind = data.get("type") if isinstance(data.get("type"), str) else None
        return RequestError(status, kind or "upstream_error", data["message"], openai_error_type(status))
    if isinstance(error, str):
        return RequestError(status, "upstream_error", error, openai_error_type(status))
    text = body[:_MAX_TEXT].decode("utf-8", "replace").strip() or "no body"
    return RequestError(
        status, "upstream_error", f"The model server answered {status}: {text}", openai_error_type(status)
    )


def translate_error(body: bytes, status: int, target: ClientApi) -> bytes:
    return upstream_error(body, status).body_for(target)
