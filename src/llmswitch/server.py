"""Process bootstrap: the grpc.aio server with ext_proc, the Route API and health; metrics; reload; workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from llmswitch.api import RouterApi
from llmswitch.budget import build_store
from llmswitch.config import LoadedConfig, load_config
from llmswitch.extproc.servicer import SERVICE as EXT_PROC_SERVICE
from llmswitch.extproc.servicer import ExternalProcessor, add_to_server
from llmswitch.cooldown_sync import CooldownSync
from llmswitch.reload import ConfigReloader, RouterState
from llmswitch.telemetry import RouterMetrics, Telemetry
from llmswitch.telemetry.access_log import configure_logging
from llmswitch.v1 import router_pb2_grpc
from llmswitch.workers import WorkerSupervisor

log = logging.getLogger(__name__)

# Room for the headers and framing that travel with the largest accepted body.
_GRPC_OVERHEAD_BYTES = 1024 * 1024
# "liveness" and "readiness": the health services a Gateway API Inference Extension endpoint picker serves.
BUDGET_REPORT_S = 5.0
_SERVICES = ("", EXT_PROC_SERVICE, "llmswitch.v1.Router", "liveness", "readiness")


def grpc_options(loaded: LoadedConfig) -> list[tuple[str, int]]:
    limit = loaded.config.router.max_body_bytes + _GRPC_OVERHEAD_BYTES
    return [
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        # One process per port: a stale copy must not silently share it.
        ("grpc.so_reuseport", 0),
    ]


async def _set_health(servicer: health.aio.HealthServicer, status: int) -> None:
    for service in _SERVICES:
        await servicer.set(service, status)


async def report_budgets(state: RouterState, metrics: RouterMetrics, interval_s: float = BUDGET_REPORT_S) -> None:
    """Export spend against each budget limit (read from the store: shared when it is Redis) every interval."""
    while True:
        guard = state.pipeline.budget
        if guard.active:
            try:
                for scope, tenant, spent, limit in await guard.usage():
                    metrics.budget_spent.labels(scope, tenant).set(spent)
                    metrics.budget_limit.labels(scope).set(limit)
            except Exception:
                log.exception("reading budget spend failed")
        await asyncio.sleep(interval_s)


def _cooldown_sync(state: RouterState) -> CooldownSync | None:
    """Cooldowns shared through Redis, when `health.rate_limits.redis_url` is set (read at start)."""
    url = state.current().config.health.rate_limits.redis_url
    if url is None:
        return None
    return CooldownSync(url, state.health.cooldowns, lambda: [m.name for m in state.current().config.models])


async def serve_async(config_path: str | Path, worker: int = 0) -> None:
    loaded = load_config(config_path)
    config = loaded.config
    metrics = RouterMetrics()
    settings = config.telemetry.metrics
    if settings.enabled:
        metrics.serve(settings.port + worker, settings.address or config.router.address)
    # With accounting on, the response observer logs each request with the status the client got.
    telemetry = Telemetry(config.telemetry, metrics, log_responses=config.accounting.enabled)
    state = RouterState(loaded, build_store(config.budget), telemetry)
    reloader = ConfigReloader(config_path, state, metrics)

    server = grpc.aio.server(options=grpc_options(loaded))
    processor = ExternalProcessor(state.current, telemetry)
    add_to_server(processor, server)
    router_pb2_grpc.add_RouterServicer_to_server(RouterApi(state.current), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"{config.router.address}:{config.router.port + worker}"
    server.add_insecure_port(address)
    await server.start()
    state.endpoints.scraper.start()
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    log.info("llmswitch listening on %s (config %s, sha256 %s)", address, loaded.source, loaded.sha256[:12])

    loop = asyncio.get_running_loop()
    background = {loop.create_task(reloader.watch(config.reload.interval_s))} if config.reload.watch else set()
    background.add(loop.create_task(report_budgets(state, metrics)))
    sync = _cooldown_sync(state)
    if sync is not None:
        background.add(loop.create_task(sync.run(lambda: state.current().config.health.rate_limits.sync_interval_s)))
    loop.add_signal_handler(signal.SIGHUP, lambda: background.add(loop.create_task(reloader.reload("SIGHUP"))))
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()

    grace = config.router.drain_seconds
    log.info("draining for up to %.1fs", grace)
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    for task in background:
        task.cancel()
    await server.stop(grace)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*background, return_exceptions=True)
    await processor.observer_tasks.drain()
    await state.endpoints.scraper.stop()
    await state.budget_store.close()
    if sync is not None:
        await sync.close()
    if state.cache_store is not None:
        await state.cache_store.close()
    telemetry.shutdown()
    log.info("stopped")


def run_worker(config_path: str, worker: int = 0) -> None:
    """Entry point of one router process."""
    configure_logging()
    try:
        from uvloop import run
    except ImportError:
        from asyncio import run
    run(serve_async(config_path, worker))


def serve(config_path: str | Path) -> None:
    """Run `router.workers` processes, worker i on `router.port + i` (one Envoy cluster lists them all),
    supervised (`llmswitch.workers`).

    `auto` resolves to the CPUs this process may use, as `llmswitch envoy-config` resolves it for the
    cluster: run both under the same CPU limits (the Helm chart resolves it at render time instead).
    """
    workers = load_config(config_path).config.worker_count
    if workers == 1:
        run_worker(str(config_path))
        return
    configure_logging()
    status = WorkerSupervisor(run_worker, str(config_path), workers).run()
    if status:
        raise SystemExit(status)
