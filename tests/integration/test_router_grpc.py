"""The router process on its own: health, the Route API, message limits and SIGTERM."""

import signal

import grpc
import orjson
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmswitch.demo.stack import LocalStack
from llmswitch.v1 import router_pb2, router_pb2_grpc
from tests.helpers import base_config, chat_body, free_ports, write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def router(tmp_path):
    data = base_config(free_ports(6))
    data["router"]["max_body_bytes"] = 8 * 1024 * 1024
    stack = LocalStack(write_config(tmp_path / "c.yaml", data), start_upstreams=False, log_dir=tmp_path)
    stack.start_router_process()
    yield stack
    stack.stop()


def test_route_api_explains_a_decision(router):
    with grpc.insecure_channel(router.router_address) as channel:
        stub = router_pb2_grpc.RouterStub(channel)
        reply = stub.Route(router_pb2.RouteRequest(body=chat_body("hi"), headers={"X-Tier": "premium"}), timeout=5)
        assert (reply.model, reply.decision, reply.cluster) == ("large-model", "code_decision", "model_large-model")
        assert [(s.type, s.name) for s in reply.signals] == [("header", "premium")]
        error = stub.Route(router_pb2.RouteRequest(body=b"{"), timeout=5).error
        assert (error.http_status, error.code) == (400, "invalid_json")
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="envoy.service.ext_proc.v3.ExternalProcessor"), timeout=5
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_bodies_above_grpc_default_4mib_are_accepted(router):
    body = orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": "python " + "x" * 6_000_000}]})
    with grpc.insecure_channel(router.router_address) as channel:
        reply = router_pb2_grpc.RouterStub(channel).Route(router_pb2.RouteRequest(body=body), timeout=10)
    assert reply.decision == "code_decision"


def test_sigterm_drains_and_exits_cleanly(router):
    process = router.processes["router"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert "draining" in router.log("router")
