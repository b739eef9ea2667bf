"""The rest of an OpenAI-compatible server: POST /v1/embeddings, and OpenAI's 404 for any other URL.

Both record what they received, so tests can see which requests (and credentials) reached a model
on paths the router does not route by content.
"""

from __future__ import annotations

import struct
from base64 import b64encode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llmswitch.demo.stubs.chat import openai_error
from llmswitch.demo.stubs.common import StubState, prompt_tokens

EMBEDDING_SIZE = 8


def _inputs(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _vector(text: str, base64: bool) -> list[float] | str:
    """A fixed-size vector from the text's bytes; as OpenAI sends it: floats, or base64 of little-endian float32."""
    values = [(sum(text.encode()) % (k + 7)) / (k + 7) for k in range(EMBEDDING_SIZE)]
    return b64encode(struct.pack(f"<{EMBEDDING_SIZE}f", *values)).decode() if base64 else values


async def embeddings(state: StubState, request: Request) -> Response:
    """An `embedding` list: one fixed-size vector per input, derived from the text's bytes."""
    body = await state.record(request)
    if state.failing:
        return openai_error(state.failing, f"{state.name} is failing", "stub_failure", "server_error")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return openai_error(400, "We could not parse the JSON body of your request.", "invalid_json")
    texts = _inputs(data.get("input")) if isinstance(data, dict) else None
    if texts is None:
        return openai_error(400, "'input' must be a string or an array of strings.", "invalid_type")
    base64 = data.get("encoding_format") == "base64"
    vectors = [
        {"object": "embedding", "index": i, "embedding": _vector(text, base64)} for i, text in enumerate(texts)
    ]
    tokens = prompt_tokens(texts)
    return JSONResponse(
        {"object": "list", "data": vectors, "model": data.get("model", ""), "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
        headers=state.headers,
    )


async def unknown_url(state: StubState, request: Request) -> Response:
    """OpenAI's answer to a path it does not serve."""
    await state.record(request)
    return openai_error(404, f"Invalid URL ({request.method} {request.url.path})", "unknown_url")
