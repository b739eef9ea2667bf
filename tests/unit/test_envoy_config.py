import subprocess
from pathlib import Path

import pytest
import yaml

from llmswitch.config import load_config
from llmswitch.demo.stack import envoy_binary
from llmswitch.envoy_config import envoy_bootstrap, render_envoy_yaml
from tests.helpers import base_config, loaded

ROOT = Path(__file__).parents[2]


def hcm(bootstrap: dict) -> dict:
    return bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def test_checked_in_envoy_yaml_matches_the_example_config():
    expected = render_envoy_yaml(load_config(ROOT / "deploy/examples/config.yaml").config)
    assert (ROOT / "envoy/envoy.yaml").read_text() == expected, (
        "envoy/envoy.yaml is stale: run `llmswitch envoy-config --config deploy/examples/config.yaml > envoy/envoy.yaml`"
    )


@pytest.mark.parametrize("failure_mode_allow", [False, True])
def test_envoy_accepts_the_generated_config(tmp_path, failure_mode_allow):
    data = base_config(failure_mode_allow=failure_mode_allow)
    data["models"][1].update(endpoint="api.example.com:443", tls=True, api_key_env="HOME", base_path="/openai/v1")
    data["router"]["workers"] = 2
    path = tmp_path / "envoy.yaml"
    path.write_text(render_envoy_yaml(loaded(data).config))
    result = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout + result.stderr


def test_ext_proc_filter_follows_the_routing_rules():
    data = base_config(failure_mode_allow=True, message_timeout_ms=350)
    bootstrap = envoy_bootstrap(loaded(data).config)
    ext_proc = hcm(bootstrap)["http_filters"][0]["typed_config"]
    assert ext_proc["processing_mode"] == {
        "request_header_mode": "SEND",
        "request_body_mode": "BUFFERED",
        "request_trailer_mode": "SKIP",
        "response_header_mode": "SKIP",
        "response_body_mode": "NONE",
        "response_trailer_mode": "SKIP",
    }
    assert ext_proc["failure_mode_allow"] is True
    assert ext_proc["message_timeout"] == "0.35s"
    assert hcm(bootstrap)["http_filters"][-1]["name"] == "envoy.filters.http.router"
    observer = hcm(bootstrap)["http_filters"][1]["typed_config"]
    assert observer["observability_mode"] is True and observer["failure_mode_allow"] is True
    assert observer["processing_mode"]["response_body_mode"] == "STREAMED"


@pytest.mark.parametrize(
    ("mode", "chain"),
    [
        ("two", ["envoy.filters.http.ext_proc", "envoy.filters.http.router"]),
        (
            "one",
            [
                "envoy.filters.http.ext_proc",
                "envoy.filters.http.buffer",
                "llmswitch.plan_headers",
                "envoy.filters.http.router",
            ],
        ),
    ],
)
def test_accounting_off_removes_the_observer(mode, chain):
    data = base_config(ext_proc_messages=mode)
    data["accounting"] = {"enabled": False}
    names = [f["name"] for f in hcm(envoy_bootstrap(loaded(data).config))["http_filters"]]
    assert names == chain


def test_envoy_copies_the_routing_result_into_responses_without_an_ext_proc_message():
    manager = hcm(envoy_bootstrap(loaded(base_config()).config))
    assert manager["http_filters"][0]["typed_config"]["processing_mode"]["response_header_mode"] == "SKIP"
    added = {h["header"]["key"]: h["header"]["value"] for h in manager["route_config"]["response_headers_to_add"]}
    assert added == {"x-llmswitch-model": "%REQ(x-selected-model)%", "x-llmswitch-decision": "%REQ(x-llmswitch-decision)%"}


def test_response_headers_can_be_switched_off():
    manager = hcm(envoy_bootstrap(loaded(base_config(response_headers=False)).config))
    assert "response_headers_to_add" not in manager["route_config"]


def test_routes_clusters_and_limits():
    config = loaded(base_config(ext_proc_messages="two", failover={"enabled": False})).config
    bootstrap = envoy_bootstrap(config)
    listener = bootstrap["static_resources"]["listeners"][0]
    assert listener["per_connection_buffer_limit_bytes"] == config.router.max_body_bytes
    routes = hcm(bootstrap)["route_config"]["virtual_hosts"][0]["routes"]
    assert routes[0]["route"]["cluster_header"] == "x-llmswitch-cluster"
    assert routes[1]["route"]["cluster"] == "model_small-model"  # the default model, for fail-open
    removed = [m["remove"] for m in hcm(bootstrap)["early_header_mutation_extensions"][0]["typed_config"]["mutations"]]
    internal = ["x-llmswitch-budget", "x-llmswitch-cache-key"]
    assert removed == ["x-llmswitch-cluster", "x-selected-model", "x-llmswitch-decision", "x-llmswitch-safety", *internal, "x-llmswitch-egress", "x-gateway-model-name"]
    assert hcm(bootstrap)["route_config"]["request_headers_to_remove"] == internal
    assert routes[0]["route"]["retry_policy"]["retry_on"] == "connect-failure,reset,retriable-status-codes"
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    assert clusters["model_large-model"]["outlier_detection"]["consecutive_5xx"] == 5
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    assert set(clusters) == {"llmswitch_router", "model_small-model", "model_large-model"}
    assert "http2_protocol_options" in yaml.safe_dump(clusters["llmswitch_router"])


def test_one_router_endpoint_per_worker():
    data = base_config()
    data["router"]["workers"] = 3
    config = loaded(data).config
    router = envoy_bootstrap(config)["static_resources"]["clusters"][0]
    ports = [e["endpoint"]["address"]["socket_address"]["port_value"] for e in router["load_assignment"]["endpoints"][0]["lb_endpoints"]]
    assert ports == [config.router.port, config.router.port + 1, config.router.port + 2]


def picking_config(**picking: object) -> dict:
    data = base_config()
    data["endpoint_picking"] = {"enabled": True, **picking}
    data["models"][1] = {"name": "large-model", "endpoints": ["10.0.0.1:8000", "vllm.llm.svc:8000"]}
    data["models"].append({"name": "hosted", "endpoints": ["api.example.com:443"], "tls": True})
    return data


def test_replicated_models_get_an_override_host_cluster_that_falls_back_to_envoys_balancing():
    bootstrap = envoy_bootstrap(loaded(picking_config(fallback_policy="least_request")).config)
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    large = clusters["model_large-model"]
    assert "lb_policy" not in large and large["type"] == "STRICT_DNS" and large["dns_lookup_family"] == "V4_PREFERRED"
    hosts = [e["endpoint"]["address"]["socket_address"] for e in large["load_assignment"]["endpoints"][0]["lb_endpoints"]]
    assert hosts == [{"address": "10.0.0.1", "port_value": 8000}, {"address": "vllm.llm.svc", "port_value": 8000}]
    policy = large["load_balancing_policy"]["policies"][0]["typed_extension_config"]
    assert policy["name"] == "envoy.load_balancing_policies.override_host"
    override = policy["typed_config"]
    assert override["override_host_sources"] == [
        {"metadata": {"key": "envoy.lb", "path": [{"key": "x-gateway-destination-endpoint"}]}},
        {"header": "x-gateway-destination-endpoint"},
    ]
    assert override["selected_host_key"] == {"key": "envoy.lb", "path": [{"key": "x-gateway-destination-endpoint-served"}]}
    fallback = override["fallback_policy"]["policies"][0]["typed_extension_config"]["name"]
    assert fallback == "envoy.load_balancing_policies.least_request"
    # Single-endpoint and hosted (TLS) models keep Envoy's round robin; nothing to pick there.
    assert clusters["model_small-model"]["lb_policy"] == clusters["model_hosted"]["lb_policy"] == "ROUND_ROBIN"
    filters = hcm(bootstrap)["http_filters"]
    assert filters[0]["typed_config"]["metadata_options"] == {"receiving_namespaces": {"untyped": ["envoy.lb"]}}
    assert filters[1]["typed_config"]["metadata_options"] == {"forwarding_namespaces": {"untyped": ["envoy.lb"]}}
    removed = [m["remove"] for m in hcm(bootstrap)["early_header_mutation_extensions"][0]["typed_config"]["mutations"]]
    assert removed[-2:] == ["x-gateway-model-name", "x-gateway-destination-endpoint"]


def test_envoy_accepts_the_endpoint_picking_config(tmp_path):
    for fallback in ("round_robin", "least_request"):
        path = tmp_path / f"{fallback}.yaml"
        path.write_text(render_envoy_yaml(loaded(picking_config(fallback_policy=fallback)).config))
        result = subprocess.run(
            [envoy_binary(), "--mode", "validate", "-c", str(path), "--disable-hot-restart"],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
def test_workers_auto_lists_one_endpoint_per_available_cpu(monkeypatch):
    monkeypatch.setattr("llmswitch.config.schema.available_cpus", lambda: 5)
    data = base_config()
    data["router"]["workers"] = "auto"
    router = envoy_bootstrap(loaded(data).config)["static_resources"]["clusters"][0]
    assert len(router["load_assignment"]["endpoints"][0]["lb_endpoints"]) == 5


def test_ext_proc_messages_auto_is_one_unless_failing_open():
    assert loaded(base_config()).config.one_message
    assert not loaded(base_config(failure_mode_allow=True)).config.one_message
    assert not loaded(base_config(ext_proc_messages="two")).config.one_message


def test_one_message_filter_skips_headers_and_asks_for_the_headers_routing_reads():
    data = base_config()
    data["budget"] = {"limits": [{"scope": "tenant", "amount": 5}]}
    ext_proc = hcm(envoy_bootstrap(loaded(data).config))["http_filters"][0]["typed_config"]
    assert ext_proc["processing_mode"]["request_header_mode"] == "SKIP"
    assert ext_proc["processing_mode"]["request_body_mode"] == "BUFFERED"
    assert ext_proc["metadata_options"] == {"receiving_namespaces": {"untyped": ["llmswitch"]}}
    assert ext_proc["request_attributes"] == [
        "request.path",
        "request.method",
        "request.headers['x-request-id']",
        "request.headers['x-tier']",
        "request.headers['x-experiment']",
        "request.headers['traceparent']",
        "request.headers['tracestate']",
        "request.headers['x-tenant-id']",
        "request.headers['content-encoding']",
    ]
    assert "request_attributes" not in hcm(envoy_bootstrap(loaded(base_config(ext_proc_messages="two")).config))[
        "http_filters"
    ][0]["typed_config"]


def test_one_message_plan_headers_come_from_the_metadata():
    manager = hcm(envoy_bootstrap(loaded(base_config()).config))
    buffer, plan_headers = manager["http_filters"][1:3]
    assert buffer["typed_config"]["max_request_bytes"] == 65536
    written = {
        m["append"]["header"]["key"]: m["append"]["header"]["value"]
        for m in plan_headers["typed_config"]["mutations"]["request_mutations"]
    }
    assert written["x-llmswitch-cluster"] == "%DYNAMIC_METADATA(llmswitch:cluster)%"
    assert written["x-selected-model"] == "%DYNAMIC_METADATA(llmswitch:x-selected-model)%"
    assert {"authorization", "traceparent", "x-llmswitch-budget", "x-llmswitch-egress"} <= set(written)


def test_one_message_routes_match_the_cluster_in_the_metadata():
    data = base_config()
    data["models"][1].update(api_key_env="HOME", base_path="/openai/v1")
    routes = hcm(envoy_bootstrap(loaded(data).config))["route_config"]["virtual_hosts"][0]["routes"]
    small, large = routes[:2]
    assert small["match"]["dynamic_metadata"][0]["value"]["string_match"]["exact"] == "model_small-model"
    assert small["route"]["cluster"] == "model_small-model"
    assert "regex_rewrite" not in small["route"] and "request_headers_to_remove" not in small
    assert large["request_headers_to_remove"] == ["x-api-key", "api-key"]
    rewrite = large["route"]["regex_rewrite"]
    assert rewrite["substitution"] == r"/openai/v1\1"
    assert rewrite["pattern"]["regex"] == r"^/v1(/chat/completions|/messages|/responses)$"
    assert routes[-1]["name"] == "default_model" and routes[-1]["route"]["cluster"] == "model_small-model"


def test_one_message_routes_answer_bodyless_requests_directly():
    routes = hcm(envoy_bootstrap(loaded(base_config()).config))["route_config"]["virtual_hosts"][0]["routes"]
    direct = [r for r in routes if "direct_response" in r]
    models = direct[0]
    assert models["match"]["safe_regex"]["regex"] == "/v1/models"
    assert models["match"]["headers"] == [{"name": ":method", "string_match": {"safe_regex": {"regex": "GET|HEAD"}}}]
    listed = yaml.safe_load(models["direct_response"]["body"]["inline_string"])
    assert [m["id"] for m in listed["data"]] == ["auto", "small-model", "large-model"]
    messages = next(r for r in direct if r["match"]["safe_regex"]["regex"] == "/v1/messages")
    assert messages["direct_response"]["status"] == 400
    assert yaml.safe_load(messages["direct_response"]["body"]["inline_string"])["type"] == "error"  # Anthropic's shape
