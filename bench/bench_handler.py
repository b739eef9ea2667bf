"""In-process cost of one routed request: llmswitch's ext_proc servicer against the no-op's, no gRPC.

Drives both `Process` implementations with the messages Envoy sends per request, parsed from bytes
as gRPC would, and prints microseconds per request for each, in the same run: two-message mode
(request headers, then the ~1 KB buffered body of bench_routing.py) and one-message mode (the body,
with the headers routing reads as request attributes). This is llmswitch's own Python on a hot
cache; through Envoy under load the same work costs about three times as much (see
docs/architecture.md, "Throughput and the hot path").

    python bench/bench_handler.py
    python bench/bench_handler.py --requests 50000 --config bench/rules.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from time import perf_counter

from bench_routing import CONFIGS, chat_body
from envoy.config.core.v3.base_pb2 import HeaderMap, HeaderValue
from envoy.service.ext_proc.v3.external_processor_pb2 import HttpBody, HttpHeaders, ProcessingRequest
from noop_extproc import NoopProcessor

from llmswitch.budget import build_store
from llmswitch.config import load_config
from llmswitch.extproc.attributes import FILTER, request_attributes
from llmswitch.extproc.servicer import ExternalProcessor
from llmswitch.reload import RouterState
from llmswitch.telemetry import RouterMetrics, Telemetry
from llmswitch.telemetry.access_log import AccessLog

HEADERS = {
    ":authority": "127.0.0.1:8080",
    ":path": "/v1/chat/completions",
    ":method": "POST",
    ":scheme": "http",
    "content-type": "application/json",
    "content-length": str(len(chat_body())),
    "x-forwarded-proto": "http",
    "x-request-id": "5d1c7a0e-1c5e-4c5e-9d4b-7e0a2d6b8f11",
}


def two_messages(body: bytes) -> tuple[bytes, bytes]:
    """The serialized request-headers and request-body messages of one chat completions POST."""
    header_map = HeaderMap(headers=[HeaderValue(key=k, raw_value=v.encode()) for k, v in HEADERS.items()])
    first = ProcessingRequest(request_headers=HttpHeaders(headers=header_map))
    second = ProcessingRequest(request_body=HttpBody(body=body, end_of_stream=True))
    return first.SerializeToString(), second.SerializeToString()


def one_message(body: bytes, config_path: Path) -> tuple[bytes]:
    """The body message of the same POST in one-message mode, with the attributes Envoy would send."""
    message = ProcessingRequest(request_body=HttpBody(body=body, end_of_stream=True))
    known = {"request.path": HEADERS[":path"], "request.method": HEADERS[":method"]}
    for attribute in request_attributes(load_config(config_path).config):
        name = attribute.removeprefix("request.headers['").removesuffix("']")
        value = known.get(attribute, HEADERS.get(name))
        if value is not None:  # Envoy leaves out the headers a request lacks
            message.attributes[FILTER].update({attribute: value})
    return (message.SerializeToString(),)


async def per_request_us(processor, messages: tuple[bytes, ...], requests: int) -> float:
    async def stream() -> AsyncIterator[ProcessingRequest]:
        for message in messages:
            yield ProcessingRequest.FromString(message)

    async def one() -> None:
        async for reply in processor.Process(stream(), None):
            assert isinstance(reply, bytes)

    for _ in range(min(1000, requests)):
        await one()
    started = perf_counter()
    for _ in range(requests):
        await one()
    return (perf_counter() - started) / requests * 1e6


def llmswitch_processor(config_path: Path) -> ExternalProcessor:
    loaded = load_config(config_path)
    metrics = RouterMetrics()
    telemetry = Telemetry(loaded.config.telemetry, metrics)
    if telemetry.access_log is not None:
        telemetry.access_log = AccessLog(io.BytesIO())  # the lines are built and batched, not printed
    state = RouterState(loaded, build_store(loaded.config.budget), telemetry)
    return ExternalProcessor(state.current, telemetry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--config", type=Path, default=CONFIGS["rules"], help="a rule-only config")
    args = parser.parse_args()
    body = chat_body().encode()
    for mode, messages in (("two", two_messages(body)), ("one", one_message(body, args.config))):
        noop_processor = NoopProcessor("model_small-model" if mode == "one" else None)
        noop = asyncio.run(per_request_us(noop_processor, messages, args.requests))
        routed = asyncio.run(per_request_us(llmswitch_processor(args.config), messages, args.requests))
        print(f"{mode} message(s): no-op servicer      {noop:7.1f} us per request")
        print(
            f"{mode} message(s): llmswitch servicer  {routed:7.1f} us per request "
            f"(+{routed - noop:.1f} us of routing, {routed / noop:.1f}x)"
        )


if __name__ == "__main__":
    main()
