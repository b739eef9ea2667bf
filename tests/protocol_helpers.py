"""Protocol tests' helpers: a stub model server on a real port, and an in-process translating proxy
that the official SDKs reach through their HTTP transport (no Envoy, the protocol layer alone)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anthropic
import httpx
import httpx2
import openai
import orjson
import uvicorn

from llmswitch.demo.upstream import create_app
from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.paths import API_PATHS, client_api
from llmswitch.protocols.translate import WireApi, response_translator, translate_request
from tests.helpers import free_ports

DROPPED_HEADER = "x-dropped-fields"


@contextmanager
def stub_server(name: str) -> Iterator[str]:
    """The stub upstream app on a free port, served by uvicorn in a thread; yields its base URL."""
    port = free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(create_app(name), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the stub server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def random_chunks(body: bytes, rng: random.Random) -> Iterator[bytes]:
    position = 0
    while position < len(body):
        size = rng.randint(1, 40)
        yield body[position : position + size]
        position += size


class TranslatingProxy:
    """What the router does per request, minus Envoy: translate the client's body for the upstream's API,
    forward it, and translate the answer back chunk by chunk (chunks of random sizes)."""

    def __init__(self, upstream: str, upstream_api: WireApi, seed: int = 0) -> None:
        self.upstream = upstream
        self.upstream_api = upstream_api
        self.rng = random.Random(seed)
        self.forwarded: list[dict] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        api = client_api(request.url.path)
        assert api is not None, request.url.path
        data = orjson.loads(request.content)
        try:
            translated = translate_request(data, api, self.upstream_api, default_max_tokens=256)
        except RequestError as err:
            return httpx2.Response(err.status, content=err.body_for(api), headers={"content-type": "application/json"})
        body = {**translated.body, "model": data["model"]}
        self.forwarded.append(body)
        headers = {"anthropic-version": "2023-06-01"} if self.upstream_api == "messages" else {}
        answer = httpx.post(self.upstream + API_PATHS[self.upstream_api], json=body, headers=headers, timeout=10)
        translator = response_translator(
            self.upstream_api, api, answer.status_code, answer.headers["content-type"], request=data
        )
        out = (
            b"".join(translator.feed(chunk) for chunk in random_chunks(answer.content, self.rng)) + translator.finish()
        )
        headers = {"content-type": translator.content_type, DROPPED_HEADER: ",".join(translated.dropped)}
        return httpx2.Response(answer.status_code, content=out, headers=headers)


def _http(handler) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler))


def openai_client(handler) -> openai.OpenAI:
    """Strict validation: every answer must parse as the SDK's own types."""
    return openai.OpenAI(
        base_url="http://proxy/v1",
        api_key="k",
        http_client=_http(handler),
        max_retries=0,
        _strict_response_validation=True,
    )


def anthropic_client(handler) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url="http://proxy",
        api_key="k",
        http_client=_http(handler),
        max_retries=0,
        _strict_response_validation=True,
    )


def bytes_client(content: bytes, status: int = 200, content_type: str = "text/event-stream"):
    """A handler answering every request with fixed bytes: feeds translator output to an SDK."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, content=content, headers={"content-type": content_type})

    return handler
