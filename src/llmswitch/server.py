"""Process bootstrap: the grpc.aio server with ext_proc, the Route API and health; worker processes."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from pathlib import Path

import grpc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from llmswitch.api import RouterApi
from llmswitch.config import LoadedConfig, load_config
from llmswitch.extproc.servicer import ExternalProcessor
from llmswitch.pipeline import RoutingPipeline
from llmswitch.v1 import router_pb2_grpc

log = logging.getLogger(__name__)

# Room for the headers and framing that travel with the largest accepted body.
_GRPC_OVERHEAD_BYTES = 1024 * 1024
_SERVICES = ("", "envoy.service.ext_proc.v3.ExternalProcessor", "llmswitch.v1.Router")


class RouterState:
    """The pipeline new streams use; in-flight streams keep the one they started with."""

    def __init__(self, pipeline: RoutingPipeline) -> None:
        self.pipeline = pipeline

    def current(self) -> RoutingPipeline:
        return self.pipeline


def grpc_options(loaded: LoadedConfig) -> list[tuple[str, int]]:
    limit = loaded.config.router.max_body_bytes + _GRPC_OVERHEAD_BYTES
    return [
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        # One process per port: a stale copy must not silently share it.
        ("grpc.so_reuseport", 0),
    ]


async def serve_async(loaded: LoadedConfig, port: int) -> None:
    state = RouterState(RoutingPipeline(loaded))
    server = grpc.aio.server(options=grpc_options(loaded))
    external_processor_pb2_grpc.add_ExternalProcessorServicer_to_server(ExternalProcessor(state.current), server)
    router_pb2_grpc.add_RouterServicer_to_server(RouterApi(state.current), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"{loaded.config.router.address}:{port}"
    server.add_insecure_port(address)
    await server.start()
    for service in _SERVICES:
        await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info("llmswitch listening on %s (config %s, sha256 %s)", address, loaded.source, loaded.sha256[:12])

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    grace = loaded.config.router.drain_seconds
    log.info("draining for up to %.1fs", grace)
    for service in _SERVICES:
        await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.stop(grace)
    log.info("stopped")


def run_worker(config_path: str, port: int) -> None:
    """Entry point of one router process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from uvloop import run
    except ImportError:
        from asyncio import run
    run(serve_async(load_config(config_path), port))


def serve(config_path: str | Path) -> None:
    """Run `router.workers` processes, worker i on `router.port + i` (one Envoy cluster lists them all)."""
    loaded = load_config(config_path)
    router = loaded.config.router
    if router.workers == 1:
        run_worker(str(config_path), router.port)
        return
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=run_worker, args=(str(config_path), router.port + i), name=f"llmswitch-worker-{i}")
        for i in range(router.workers)
    ]
    for worker in workers:
        worker.start()

    def forward(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()
