"""The chart's Envoy config equals envoy_bootstrap() of the router config it ships, exactly."""

import re
from pathlib import Path

import pytest
import yaml

from llmswitch.config import parse_config
from llmswitch.envoy_clusters import ADMIN_CLUSTER, ROUTER_CLUSTER
from llmswitch.envoy_config import envoy_bootstrap
from tests.helm.chart import envoy_config_text, render, router_config_text
from tests.helpers import base_config

ROOT = Path(__file__).parents[2]


def varied_config() -> dict:
    """Every branch of the generator: options off their defaults, DNS/IPv4/IPv6/TLS endpoints, odd names."""
    data = base_config(failure_mode_allow=True, message_timeout_ms=350, response_headers=False, request_timeout_s=0)
    data["routing"].update(
        cluster_header="x-route-to",
        retries={"num_retries": 3, "per_try_timeout_s": 2.5, "retriable_status_codes": [503]},
        outlier_detection={"enabled": False},
    )
    data["accounting"] = {"enabled": False}
    data["router"].update(address="127.0.0.1", workers=3, max_body_bytes=1024 * 1024 + 7)
    data["listener"]["address"] = "::"
    data["models"] += [
        {"name": "hosted/gpt:4.1@eu+1", "endpoint": "api.example.com:443", "tls": True, "upstream_model": "gpt-4.1"},
        {"name": "ipv6", "endpoint": "[fd00::12]:8000"},
        {"name": "not-an-ip", "endpoint": "256.1.1.1:8000"},
        {"name": "leading-zero-port", "endpoint": "10.0.0.7:080"},
    ]
    return data


def ipv6_router_config() -> dict:
    data = base_config(message_timeout_ms=1500, request_timeout_s=123456.7)  # 7 significant digits
    data["router"]["address"] = "::"
    data["listener"]["probe_port"] = 9911
    data["routing"]["outlier_detection"] = {"consecutive_5xx": 2, "interval_s": 0.5, "base_ejection_time_s": 90}
    return data


def long_durations_config() -> dict:
    """Durations of 1e6 s and more, and fractions, in fixed-point seconds (Envoy rejects 1e+06s)."""
    data = base_config(message_timeout_ms=10, request_timeout_s=2592000)
    data["routing"]["retries"] = {"per_try_timeout_s": 1000000}
    data["routing"]["outlier_detection"] = {"interval_s": 0.001, "base_ejection_time_s": 1e7}
    return data


def replicas_config() -> dict:
    """Endpoint picking: replicated models (IPs, DNS names, IPv6), the override-host policy's options."""
    data = base_config()
    data["endpoint_picking"] = {
        "enabled": True,
        "fallback_policy": "least_request",
        "destination_header": "x-picked",
        "metadata_namespace": "picks.example",
    }
    data["routing"]["model_name_header"] = None
    data["models"] += [
        {"name": "pool", "endpoints": ["10.0.0.1:8000", "10.0.0.2:8000", "[fd00::3]:8000"]},
        {"name": "headless", "endpoints": ["vllm-headless.llm.svc:8000"]},
        {"name": "hosted", "endpoints": ["api.example.com:443"], "tls": True},
    ]
    return data


def picking_defaults_config() -> dict:
    data = base_config()
    data["endpoint_picking"] = {"enabled": True}
    data["models"][1] = {"name": "large-model", "endpoints": ["vllm-a:8000", "10.1.0.2:8000"]}
    return data


CONFIGS = {
    "replicas": replicas_config(),
    "picking defaults": picking_defaults_config(),
    "chart defaults": None,
    "example config": yaml.safe_load((ROOT / "deploy/examples/config.yaml").read_text()),
    "varied": varied_config(),
    "wildcard IPv6 router": ipv6_router_config(),
    "long durations": long_durations_config(),
}


@pytest.fixture(params=list(CONFIGS), ids=list(CONFIGS))
def rendered(request) -> tuple[object, dict]:
    data = CONFIGS[request.param]
    objects = render(None if data is None else {"config": data})
    config = parse_config(router_config_text(objects), "router ConfigMap").config
    return config, yaml.safe_load(envoy_config_text(objects))


def test_envoy_config_matches_the_generator(rendered):
    config, envoy_yaml = rendered
    assert envoy_yaml == envoy_bootstrap(config)


def test_probe_listener_exposes_only_ready_from_the_admin_interface(rendered):
    config, envoy_yaml = rendered
    assert config.listener.probe_port is not None  # the chart always sets it: the Envoy container's probes use it
    resources = envoy_yaml["static_resources"]
    probe = next(item for item in resources["listeners"] if item["name"] == "envoy_probe")
    admin = next(item for item in resources["clusters"] if item["name"] == ADMIN_CLUSTER)
    assert envoy_yaml["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    assert probe["address"]["socket_address"] == {
        "address": config.listener.address,
        "port_value": config.listener.probe_port,
    }
    manager = probe["filter_chains"][0]["filters"][0]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    assert routes == [
        {"match": {"path": "/ready"}, "route": {"cluster": ADMIN_CLUSTER}},
        {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
    ]
    endpoint = admin["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": config.listener.admin_port}


def test_envoy_container_probes_the_configured_probe_port():
    objects = render({"config": {"listener": {"probe_port": 9911}}})
    config = parse_config(router_config_text(objects)).config
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    envoy_container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "envoy")
    assert {"name": "envoy-probe", "containerPort": 9911, "protocol": "TCP"} in envoy_container["ports"]
    assert config.listener.probe_port == 9911
    assert yaml.safe_load(envoy_config_text(objects)) == envoy_bootstrap(config)


def test_durations_are_fixed_point_seconds():
    text = envoy_config_text(render({"config": long_durations_config()}))
    for duration in ("timeout: 2592000s", "per_try_timeout: 1000000s", "interval: 0.001s",
                     "base_ejection_time: 10000000s", "message_timeout: 0.01s"):
        assert duration in text
    assert not re.search(r"[0-9]e[+-]?[0-9]", text)


def test_router_binds_a_wildcard_and_envoy_connects_to_loopback():
    objects = render()
    config = parse_config(router_config_text(objects)).config
    clusters = yaml.safe_load(envoy_config_text(objects))["static_resources"]["clusters"]
    router = next(c for c in clusters if c["name"] == ROUTER_CLUSTER)
    socket = router["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert config.router.address == "0.0.0.0"
    assert socket == {"address": "127.0.0.1", "port_value": config.router.port}
