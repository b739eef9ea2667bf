"""llmswitch as the endpoint picker of a Gateway API Inference Extension gateway (an Envoy configured
as GIE gateways configure themselves: FULL_DUPLEX_STREAMED ext_proc, fail-open, override-host pool)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from openai import OpenAI

from llmswitch.demo.stack import LocalStack, envoy_binary, envoy_ready, wait_for
from tests.helpers import free_ports, write_config
from tests.integration.conftest import scrape_metrics
from tests.integration.gie_gateway import gateway_bootstrap


class Gateway:
    def __init__(self, stack: LocalStack, name: str, pool: list[tuple[str, int]], subset: list[str] | None = None):
        self.port, admin = free_ports(2)
        path = stack.log_dir / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump(gateway_bootstrap(self.port, admin, stack.config.router.port, pool, subset=subset))
        )
        process = stack._spawn(name, [envoy_binary(), "-c", str(path), "--disable-hot-restart", "--log-level", "error"])
        wait_for(lambda: envoy_ready(admin), name, process=process)
        self.client = OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="k", max_retries=0, timeout=20)

    def served_by(self, count: int) -> Counter:
        served = Counter()
        for index in range(count):
            raw = self.client.chat.completions.with_raw_response.create(
                model="pool-model", messages=[{"role": "user", "content": f"q{index}"}]
            )
            served[raw.headers["x-served-by"]] += 1
        return served


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    tmp_path = tmp_path_factory.mktemp("gie")
    router, metrics, *pool = free_ports(5)
    data = {
        "version": "v1",
        "router": {"port": router, "drain_seconds": 0.5},
        "telemetry": {"metrics": {"port": metrics}},
        "endpoint_picking": {"enabled": True, "scrape_interval_s": 0.1, "stale_after_s": 1.0},
        "models": [
            {
                "name": "pool-model",
                "endpoints": [f"127.0.0.1:{p}" for p in pool],
                "pricing": {"input_per_1m": 1, "output_per_1m": 2},
            }
        ],
        "default_model": "pool-model",
    }
    stack = LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path)
    try:
        stack.start_upstream_stubs()
        stack.start_router_process()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def pool(stack) -> list[str]:
    addresses = [f"127.0.0.1:{port}" for _, port in stack.config.model("pool-model").addresses]
    for address, waiting in zip(addresses, (9, 0, 9), strict=True):
        httpx.put(f"http://{address}/_stub/load", json={"waiting": waiting}, timeout=5)
    time.sleep(0.4)
    return addresses


@pytest.fixture(scope="module")
def gateway(stack, pool) -> Gateway:
    return Gateway(stack, "gateway", stack.config.model("pool-model").addresses)


def test_the_picker_serves_the_gie_health_services(stack):
    with grpc.insecure_channel(f"127.0.0.1:{stack.config.router.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("liveness", "readiness", "envoy.service.ext_proc.v3.ExternalProcessor"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_the_gateway_sends_each_request_to_the_picked_replica(stack, pool, gateway):
    assert gateway.served_by(6) == {pool[1]: 6}
    time.sleep(0.3)
    metrics = scrape_metrics(stack)
    served = (
        "llmswitch_endpoint_responses_total",
        (("endpoint", pool[1]), ("model", "pool-model"), ("status_class", "2xx")),
    )
    assert metrics[served] >= 6  # the gateway reported the endpoint that served (GIE's served-endpoint metadata)
    assert metrics[("llmswitch_model_tokens_total", (("kind", "completion"), ("model", "pool-model")))] >= 30


def test_streamed_answers_arrive_in_chunks_through_the_picker(gateway, pool):
    stream = gateway.client.chat.completions.create(
        model="pool-model", messages=[{"role": "user", "content": "stream it"}], stream=True
    )
    chunks = [chunk for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"Hello from pool-model at {pool[1]}." and len(chunks) >= 3


def test_the_gateways_subset_hint_limits_the_pick(stack, pool):
    gateway = Gateway(stack, "gateway-subset", stack.config.model("pool-model").addresses, subset=[pool[0], pool[2]])
    served = gateway.served_by(6)
    assert set(served) <= {pool[0], pool[2]} and sum(served.values()) == 6


def test_the_gateway_fails_open_when_the_picker_is_down(stack, pool, gateway):
    """GIE's EppUnAvailableFailOpen: the picker's Service has no ready endpoint, requests still reach the pool.

    (A FULL_DUPLEX_STREAMED stream that breaks after Envoy has handed it the body cannot fail open:
    the picker going NOT_SERVING before it stops keeps new requests off it.)"""
    stack.stop_router_process()
    time.sleep(0.5)  # the gateway's health check notices
    served = gateway.served_by(6)
    assert sum(served.values()) == 6 and len(served) == 3  # the pool cluster's own round robin
