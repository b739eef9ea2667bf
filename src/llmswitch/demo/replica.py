"""Stub vLLM replicas: an OpenAI chat-completions server with vLLM's queueing and its load metrics.

Each replica serves `max_num_seqs` requests at once, each for `latency_s`; the rest wait in a
queue, as in vLLM. `GET /metrics` reports the queue and the running requests under vLLM's names
(`vllm:num_requests_waiting`, `vllm:num_requests_running`, `vllm:kv_cache_usage_perc`, the running
share of the slots). Tests steer a replica over HTTP:

    PUT /_stub/load     {"waiting": 7, "kv_cache": 0.9}     reported on top of the real load
    PUT /_stub/speed    {"latency_s": 0.5, "max_num_seqs": 2}
    PUT /_stub/metrics  {"mode": "ok" | "error" | "hang"}   /metrics answers, fails (500), or never answers
    GET /_stub/requests (DELETE clears)                      what reached this replica, headers included

Answers carry `x-upstream-name` (the model) and `x-served-by` (this replica's address). Run several:

    python -m llmswitch.demo.replica small-model=19001 small-model=19002 --latency-s 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from llmswitch.demo.stubs.chat import usage
from llmswitch.demo.stubs.common import UPSTREAM_HEADER

SERVED_BY_HEADER = "x-served-by"
_HANG_S = 3600.0


class Engine:
    """vLLM's scheduling in miniature: `max_num_seqs` slots, a FIFO queue in front of them."""

    def __init__(self, max_num_seqs: int, latency_s: float) -> None:
        self.max_num_seqs = max_num_seqs
        self.latency_s = latency_s
        self.running = 0
        self.waiting = 0
        self._slot_free = asyncio.Condition()

    async def serve(self) -> None:
        """Wait for a slot, hold it for one request's time."""
        self.waiting += 1
        async with self._slot_free:
            await self._slot_free.wait_for(lambda: self.running < self.max_num_seqs)
            self.waiting -= 1
            self.running += 1
        try:
            await asyncio.sleep(self.latency_s)
        finally:
            async with self._slot_free:
                self.running -= 1
                self._slot_free.notify_all()

    @property
    def kv_cache(self) -> float:
        return min(1.0, self.running / self.max_num_seqs)


def metrics_text(model: str, waiting: float, running: float, kv_cache: float) -> str:
    labels = f'{{engine="0",model_name="{model}"}}'
    return (
        "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
        "# TYPE vllm:num_requests_running gauge\n"
        f"vllm:num_requests_running{labels} {running}\n"
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        f"vllm:num_requests_waiting{labels} {waiting}\n"
        "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
        "# TYPE vllm:kv_cache_usage_perc gauge\n"
        f"vllm:kv_cache_usage_perc{labels} {kv_cache}\n"
        "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
        "# TYPE vllm:prompt_tokens_total counter\n"
        f"vllm:prompt_tokens_total{labels} 0.0\n"
    )


def create_app(model: str, address: str, max_num_seqs: int = 8, latency_s: float = 0.02) -> Starlette:
    engine = Engine(max_num_seqs, latency_s)
    extra = {"waiting": 0.0, "running": 0.0, "kv_cache": 0.0}
    metrics_mode = {"mode": "ok"}
    mode_changed = asyncio.Event()
    received: deque[dict] = deque(maxlen=2000)
    headers = {UPSTREAM_HEADER: model, SERVED_BY_HEADER: address}

    async def completions(request: Request) -> Response:
        body = await request.body()
        received.append({"path": request.url.path, "headers": dict(request.headers)})
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            error = {"error": {"message": "invalid JSON", "type": "invalid_request_error", "code": None}}
            return JSONResponse(error, status_code=400, headers=headers)
        await engine.serve()
        requested = data.get("model", model)
        text = f"Hello from {model} at {address}."
        if request.url.path == "/v1/completions":
            answer = {
                "id": "cmpl-replica",
                "object": "text_completion",
                "created": 1_700_000_000,
                "model": requested,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                "usage": usage(data),
            }
            return JSONResponse(answer, headers=headers)
        if data.get("stream"):
            return StreamingResponse(_events(requested, text, data), media_type="text/event-stream", headers=headers)
        message = {"role": "assistant", "content": text}
        answer = {
            "id": "chatcmpl-replica",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": requested,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage(data),
        }
        return JSONResponse(answer, headers=headers)

    async def metrics(request: Request) -> Response:
        if metrics_mode["mode"] == "hang":
            with contextlib.suppress(TimeoutError):  # until told otherwise
                await asyncio.wait_for(mode_changed.wait(), _HANG_S)
        if metrics_mode["mode"] == "error":
            return PlainTextResponse("metrics unavailable\n", status_code=500)
        text = metrics_text(
            model,
            engine.waiting + extra["waiting"],
            engine.running + extra["running"],
            min(1.0, engine.kv_cache + extra["kv_cache"]),
        )
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def set_load(request: Request) -> Response:
        values = await request.json()
        extra.update({key: float(values[key]) for key in extra if key in values})
        return Response(status_code=204)

    async def set_speed(request: Request) -> Response:
        values = await request.json()
        engine.latency_s = float(values.get("latency_s", engine.latency_s))
        engine.max_num_seqs = int(values.get("max_num_seqs", engine.max_num_seqs))
        return Response(status_code=204)

    async def set_metrics_mode(request: Request) -> Response:
        metrics_mode["mode"] = (await request.json()).get("mode", "ok")
        mode_changed.set()
        mode_changed.clear()
        return Response(status_code=204)

    async def requests_seen(request: Request) -> Response:
        return JSONResponse(list(received))

    async def clear(request: Request) -> Response:
        received.clear()
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": model, "address": address})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/_stub/load", set_load, methods=["PUT"]),
            Route("/_stub/speed", set_speed, methods=["PUT"]),
            Route("/_stub/metrics", set_metrics_mode, methods=["PUT"]),
            Route("/_stub/requests", requests_seen, methods=["GET"]),
            Route("/_stub/requests", clear, methods=["DELETE"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def _events(model: str, text: str, data: dict) -> AsyncIterator[bytes]:
    def chunk(delta: dict | None, finish: str | None = None, with_usage: bool = False) -> bytes:
        payload: dict = {
            "id": "chatcmpl-replica",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if with_usage:
            payload["usage"] = usage(data)
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    yield chunk({"content": text})
    yield chunk({}, finish="stop")
    if (data.get("stream_options") or {}).get("include_usage"):
        yield chunk(None, with_usage=True)
    yield b"data: [DONE]\n\n"


async def serve(replicas: list[tuple[str, int]], host: str, max_num_seqs: int, latency_s: float) -> None:
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                create_app(model, f"{host}:{port}", max_num_seqs, latency_s),
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
            )
        )
        for model, port in replicas
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description="Stub vLLM replicas with load metrics.")
    parser.add_argument("replicas", nargs="+", metavar="MODEL=PORT")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--max-num-seqs", type=int, default=8, help="requests served at once per replica")
    parser.add_argument("--latency-s", type=float, default=0.02, help="time one request takes")
    args = parser.parse_args()
    replicas = [(model, int(port)) for model, _, port in (r.partition("=") for r in args.replicas)]
    asyncio.run(serve(replicas, args.host, args.max_num_seqs, args.latency_s))


if __name__ == "__main__":
    main()
