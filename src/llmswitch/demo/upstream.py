"""Stub OpenAI-compatible model servers: each answers with its own name, and streams when asked.

They record what they received (GET /_stub/requests), so tests can check exactly which headers
and body reached the model, and can be told to fail (PUT /_stub/fail {"status": 500}; 0 heals).
Answers are deterministic (fixed ids and timestamps), and usage counts about four characters per
prompt token, as the router estimates. Run several in one process:

    python -m llmswitch.demo.upstream small-model=19001 large-model=19002
"""

from __future__ import annotations

import argparse
import asyncio
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
COMPLETION_TOKENS = 5
CREATED = 1_700_000_000


def usage(data: dict) -> dict:
    text = "".join(m.get("content") or "" for m in data.get("messages", []) if isinstance(m.get("content"), str))
    prompt = (len(text.encode()) + 3) // 4
    completion = min(COMPLETION_TOKENS, data.get("max_tokens") or COMPLETION_TOKENS)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(name: str, model: str, content: str, data: dict) -> dict:
    return {
        "id": f"chatcmpl-{name}",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage(data),
    }


def _chunk(name: str, model: str, delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    payload = {
        "id": f"chatcmpl-{name}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        payload["usage"] = usage
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def create_app(name: str) -> Starlette:
    received: deque[dict] = deque(maxlen=1000)
    failing = {"status": 0}

    async def chat(request: Request) -> Response:
        body = await request.body()
        received.append({"path": request.url.path, "headers": dict(request.headers), "body": body.decode("utf-8", "replace")})
        headers = {UPSTREAM_HEADER: name}
        if failing["status"]:
            error = {"error": {"message": f"{name} is failing", "type": "server_error", "code": "stub_failure"}}
            return JSONResponse(error, status_code=failing["status"], headers=headers)
        data = orjson.loads(body)
        model = data.get("model", "")
        if not data.get("stream"):
            return JSONResponse(_completion(name, model, f"Hello from {name}.", data), headers=headers)
        options = data.get("stream_options") or {}

        async def events() -> AsyncIterator[bytes]:
            yield _chunk(name, model, {"role": "assistant", "content": ""})
            for index in range(STREAM_CHUNKS):
                await asyncio.sleep(STREAM_CHUNK_DELAY_S)
                yield _chunk(name, model, {"content": f"{name} part {index}. "})
            yield _chunk(name, model, {}, finish="stop")
            if options.get("include_usage"):
                yield _chunk(name, model, None, usage=usage(data))
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def requests_seen(request: Request) -> Response:
        return JSONResponse(list(received))

    async def clear(request: Request) -> Response:
        received.clear()
        return Response(status_code=204)

    async def fail(request: Request) -> Response:
        failing["status"] = int((await request.json()).get("status", 0))
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": name})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/_stub/requests", requests_seen, methods=["GET"]),
            Route("/_stub/requests", clear, methods=["DELETE"]),
            Route("/_stub/fail", fail, methods=["PUT"]),
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
