"""Metrics, access logs and OpenTelemetry traces of requests through the real Envoy."""

import time
from concurrent import futures

import grpc
import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics, wait_until

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN_ID = "00f067aa0ba902b7"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """A minimal OTLP/gRPC trace collector."""

    def __init__(self) -> None:
        self.spans: list = []

    def Export(self, request, context):
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture(scope="module")
def collector():
    collector = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    collector.port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield collector
    server.stop(0)


@pytest.fixture(scope="module")
def traced_stack(tmp_path_factory, collector):
    tmp = tmp_path_factory.mktemp("traced")
    data = base_config(free_ports(6))
    data["telemetry"]["tracing"] = {"enabled": True, "endpoint": f"http://127.0.0.1:{collector.port}", "sampling_ratio": 1.0}
    data["decisions"][0]["plugins"] = [{"type": "cache"}]  # code_decision answers repeats from the cache
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # export batches quickly
        stack = LocalStack(write_config(tmp / "config.yaml", data), log_dir=tmp).start()
    yield stack
    stack.stop()


def post(stack, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=10)


def wait_for_spans(collector, count: int, timeout_s: float = 10.0) -> list:
    deadline = time.monotonic() + timeout_s
    while len(collector.spans) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return collector.spans


def test_trace_joins_the_client_trace_and_reaches_the_upstream(traced_stack, collector):
    traceparent = f"00-{TRACE_ID}-{CLIENT_SPAN_ID}-01"
    body = {"model": "auto", "messages": [{"role": "user", "content": "secret python question"}]}
    response = post(traced_stack, body, traceparent=traceparent)
    assert response.status_code == 200
    spans = {s.name: s for s in wait_for_spans(collector, 4) if s.trace_id.hex() == TRACE_ID}
    assert set(spans) >= {"llmswitch route", "signal keyword", "decision", "selection"}
    root = spans["llmswitch route"]
    assert root.parent_span_id.hex() == CLIENT_SPAN_ID
    for child in ("signal keyword", "decision", "selection"):
        assert spans[child].parent_span_id == root.span_id
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["llmswitch.decision"].string_value == "code_decision"
    assert attributes["gen_ai.request.model"].string_value == "auto"
    assert attributes["gen_ai.response.model"].string_value == "large-model"
    assert attributes["gen_ai.operation.name"].string_value == "chat"
    assert attributes["llmswitch.algorithm"].string_value == "static"
    assert [v.string_value for v in attributes["llmswitch.signals.matched"].array_value.values] == ["keyword:code"]
    assert not any("secret" in str(v) for v in attributes.values()), "prompt text must stay out of spans"
    # The upstream request carries the router span as its parent.
    seen = httpx.get(f"http://127.0.0.1:{traced_stack.config.models[1].port}/_stub/requests", timeout=5).json()[-1]
    assert seen["headers"]["traceparent"] == f"00-{TRACE_ID}-{root.span_id.hex()}-01"


def test_rejected_request_span_carries_the_error_type(traced_stack, collector):
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    response = httpx.post(
        f"{traced_stack.base_url}/chat/completions",
        content=b"{broken",
        headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01", "content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        matching = [s for s in collector.spans if s.trace_id.hex() == trace_id]
        if matching:
            break
        time.sleep(0.05)
    [span] = matching
    assert {a.key: a.value.string_value for a in span.attributes}["error.type"] == "invalid_json"
    assert span.status.code == 2  # STATUS_CODE_ERROR


def test_cache_hits_are_traced_and_logged(traced_stack, collector):
    body = {"model": "auto", "messages": [{"role": "user", "content": "traced python cache question"}]}
    assert post(traced_stack, body).status_code == 200
    stored = ("llmswitch_cache_stores_total", (("decision", "code_decision"),))
    assert wait_until(lambda: stored in scrape_metrics(traced_stack))
    trace_id = "5bf92f3577b34da6a3ce929d0e0e4737"
    hit = post(traced_stack, body, traceparent=f"00-{trace_id}-00f067aa0ba902b7-01", **{"x-request-id": "req-hit"})
    assert hit.headers["x-llmswitch-cache"] == "hit"
    assert wait_until(lambda: any(s.trace_id.hex() == trace_id for s in collector.spans), timeout_s=10)
    [root] = [s for s in collector.spans if s.trace_id.hex() == trace_id and s.name == "llmswitch route"]
    attributes = {a.key: a.value.string_value for a in root.attributes}
    assert (attributes["llmswitch.cache"], attributes["llmswitch.cache.match"]) == ("hit", "exact")
    assert wait_until(lambda: "req-hit" in traced_stack.log("router"))
    [line] = [orjson.loads(x) for x in traced_stack.log("router").splitlines() if "req-hit" in x]
    assert (line["cache"], line["decision"], line["status"]) == ("hit", "code_decision", 200)


def test_metrics_count_routes_errors_and_latency(traced_stack):
    before = scrape_metrics(traced_stack)
    route = ("llmswitch_requests_total", (("decision", "default"), ("model", "small-model")))
    error = ("llmswitch_errors_total", (("reason", "model_not_found"),))
    for _ in range(3):
        assert post(traced_stack, {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    assert post(traced_stack, {"model": "nope", "messages": [{"role": "user", "content": "hi"}]}).status_code == 404
    after = scrape_metrics(traced_stack)
    assert after[route] - before.get(route, 0) == 3
    assert after[error] - before.get(error, 0) == 1
    count = ("llmswitch_routing_duration_seconds_count", ())
    assert after[count] - before.get(count, 0) == 3
    assert after[("llmswitch_signal_duration_seconds_count", (("type", "keyword"),))] >= 3
    assert ("llmswitch_inflight_streams", ()) in after
    sha = traced_stack.loaded.sha256
    assert after[("llmswitch_config_info", (("sha256", sha), ("source", str(traced_stack.config_path))))] == 1


def test_access_log_has_one_json_line_per_request_without_prompt_text(traced_stack):
    request_id = "req-access-log-1"
    body = {"model": "auto", "messages": [{"role": "user", "content": "a very private python prompt"}]}
    assert post(traced_stack, body, **{"x-request-id": request_id}).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and request_id not in traced_stack.log("router"):
        time.sleep(0.05)
    lines = [orjson.loads(line) for line in traced_stack.log("router").splitlines() if request_id in line]
    assert len(lines) == 1
    entry = lines[0]
    assert (entry["decision"], entry["model"], entry["status"]) == ("code_decision", "large-model", 200)
    assert entry["latency_ms"] >= 0
    assert "private" not in traced_stack.log("router")


def test_envoy_closes_ext_proc_streams_instead_of_resetting_them(traced_stack):
    """A reset stream costs the router native memory (grpc/grpc#43360); the generated config avoids it.

    Each request has a routing stream and, with accounting on, a response-observer stream.
    """
    closed = ("llmswitch_extproc_streams_total", (("end", "closed"),))
    reset = ("llmswitch_extproc_streams_total", (("end", "reset"),))
    before = scrape_metrics(traced_stack)
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    with futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: post(traced_stack, body).status_code, range(40)))
    assert statuses == [200] * 40

    def ended() -> float:
        after = scrape_metrics(traced_stack)
        return sum(after.get(key, 0) - before.get(key, 0) for key in (closed, reset))

    assert wait_until(lambda: ended() >= 80, timeout_s=15)
    after = scrape_metrics(traced_stack)
    print("closed", after.get(closed, 0) - before.get(closed, 0), "reset", after.get(reset, 0) - before.get(reset, 0))
    assert after.get(reset, 0) == before.get(reset, 0)
