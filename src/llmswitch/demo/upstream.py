"""Stub OpenAI-compatible model servers: each answers with its own name, and streams when asked.

They record what they received (GET /_stub/requests), so tests can check exactly which headers
and body reached the model. Run several in one process:

    python -m llmswitch.demo.upstream small-model=19001 large-model=19002
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

UPSTREAM_HEADER = "x-upstream-name"
STREAM_CHUNKS = 4
STREAM_CHUNK_DELAY_S = 0.05


def _completion(name: str, model: str, content: str) -> dict:
    return {
        "id": f"chatcmpl-{name}-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunk(name: str, model: str, delta: dict, finish: str | None = None) -> bytes:
    payload = {
        "id": f"chatcmpl-{name}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def create_app(name: str) -> Starlette:
    received: deque[dict] = deque(maxlen=1000)

    async def chat(request: Request) -> Response:
        body = await request.body()
        received.append({"path": request.url.path, "headers": dict(request.headers), "body": body.decode("utf-8", "replace")})
        data = orjson.loads(body)
        model = data.get("model", "")
        headers = {UPSTREAM_HEADER: name}
        if not data.get("stream"):
            return JSONResponse(_completion(name, model, f"Hello from {name}."), headers=headers)

        async def events() -> AsyncIterator[bytes]:
            yield _chunk(name, model, {"role": "assistant", "content": ""})
            for index in range(STREAM_CHUNKS):
                await asyncio.sleep(STREAM_CHUNK_DELAY_S)
                yield _chunk(name, model, {"content": f"{name} part {index}. "})
            yield _chunk(name, model, {}, finish="stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def requests_seen(request: Request) -> Response:
        return JSONResponse(list(received))

    async def clear(request: Request) -> Response:
        received.clear()
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": name})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/_stub/requests", requests_seen, methods=["GET"]),
            Route("/_stub/requests", clear, methods=["DELETE"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def serve(upstreams: dict[str, int], host: str = "127.0.0.1") -> None:
    servers = [
        uvicorn.Server(uvicorn.Config(create_app(name), host=host, port=port, log_level="warning", access_log=False))
        for name, port in upstreams.items()
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description="Stub OpenAI-compatible model servers.")
    parser.add_argument("models", nargs="+", metavar="NAME=PORT")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    upstreams = {name: int(port) for name, _, port in (m.partition("=") for m in args.models)}
    asyncio.run(serve(upstreams, args.host))


if __name__ == "__main__":
    main()
