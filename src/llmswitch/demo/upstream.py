"""Stub model servers: each answers with its own name, and streams when asked, in three APIs:
OpenAI chat completions (POST /v1/chat/completions), Anthropic Messages (POST /v1/messages) and
OpenAI Responses (POST /v1/responses), each in its API's own JSON, SSE events and error shape.

They record what they received (GET /_stub/requests), so tests can check exactly which headers
and body reached the model, and can be told to fail (PUT /_stub/fail {"status": 500}; 0 heals),
or to cut their streams short after the first delta (PUT /_stub/fail {"status": 0, "cut_streams": true}),
or to reset connections, hang, heal after K requests or add headers to errors (`stubs.faults`),
or to report other token counts (PUT /_stub/usage {"prompt_tokens": -3}; {} restores them).
They also serve POST /v1/embeddings, and answer any other path with OpenAI's 404 (recorded too).
Answers are deterministic (fixed ids and timestamps), and usage counts about four characters per
prompt token, as the router estimates. A request that offers tools and whose last user text names
one gets a call of that tool (see `llmswitch.demo.stubs.common`). Run several in one process:

    python -m llmswitch.demo.upstream small-model=19001 large-model=19002
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmswitch.demo.stubs.chat import chat
from llmswitch.demo.stubs.common import UPSTREAM_HEADER, StubState
from llmswitch.demo.stubs.faults import FaultMiddleware, Faults
from llmswitch.demo.stubs.messages import messages
from llmswitch.demo.stubs.other import embeddings, unknown_url
from llmswitch.demo.stubs.responses import responses

__all__ = ["UPSTREAM_HEADER", "create_app", "serve"]


def create_app(name: str) -> FaultMiddleware:
    state = StubState(name)

    async def requests_seen(request: Request) -> Response:
        return JSONResponse(list(state.received))

    async def clear(request: Request) -> Response:
        state.received.clear()
        return Response(status_code=204)

    async def fail(request: Request) -> Response:
        settings = await request.json()
        state.failing = int(settings.get("status", 0))
        state.cut_streams = bool(settings.get("cut_streams", False))
        first = settings.get("first")
        state.faults = Faults(
            mode=str(settings.get("mode", "")),
            hang_s=float(settings.get("hang_s", 30.0)),
            first=int(first) if first is not None else None,
            headers={str(k): str(v) for k, v in (settings.get("headers") or {}).items()},
        )
        return Response(status_code=204)

    async def usage(request: Request) -> Response:
        state.usage_override = dict(await request.json())
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": name})

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", partial(chat, state), methods=["POST"]),
            Route("/v1/messages", partial(messages, state), methods=["POST"]),
            Route("/v1/responses", partial(responses, state), methods=["POST"]),
            Route("/_stub/requests", requests_seen, methods=["GET"]),
            Route("/_stub/requests", clear, methods=["DELETE"]),
            Route("/v1/embeddings", partial(embeddings, state), methods=["POST"]),
            Route("/_stub/fail", fail, methods=["PUT"]),
            Route("/_stub/usage", usage, methods=["PUT"]),
            Route("/health", health, methods=["GET"]),
            Route("/{path:path}", partial(unknown_url, state), methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )
    return FaultMiddleware(app, state)


async def serve(upstreams: dict[str, int], host: str = "127.0.0.1") -> None:
    servers = [
        uvicorn.Server(uvicorn.Config(create_app(name), host=host, port=port, log_level="warning", access_log=False))
        for name, port in upstreams.items()
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Stub model servers (OpenAI chat completions and Responses, Anthropic Messages)."
    )
    parser.add_argument("models", nargs="+", metavar="NAME=PORT")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    upstreams = {name: int(port) for name, _, port in (m.partition("=") for m in args.models)}
    asyncio.run(serve(upstreams, args.host))


if __name__ == "__main__":
    main()
