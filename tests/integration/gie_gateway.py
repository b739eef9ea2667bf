"""An Envoy configured as a Gateway API Inference Extension gateway configures itself for an
InferencePool: the endpoint picker's ext_proc in FULL_DUPLEX_STREAMED mode (request and response),
fail-open, and the pool's endpoints in a cluster whose override-host policy follows the picker."""

from __future__ import annotations

from typing import Any


def _typed(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def gateway_bootstrap(
    listener_port: int,
    admin_port: int,
    picker_port: int,
    pool: list[tuple[str, int]],
    fail_open: bool = True,
    subset: list[str] | None = None,
) -> dict:
    """`subset`: the gateway sends the picker this subset hint (`envoy.lb.subset_hint`) with every request."""
    ext_proc = _typed(
        "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
        grpc_service={"envoy_grpc": {"cluster_name": "epp"}},
        failure_mode_allow=fail_open,
        message_timeout="10s",
        processing_mode={
            "request_header_mode": "SEND",
            "response_header_mode": "SEND",
            "request_body_mode": "FULL_DUPLEX_STREAMED",
            "response_body_mode": "FULL_DUPLEX_STREAMED",
            "request_trailer_mode": "SEND",
            "response_trailer_mode": "SEND",
        },
        metadata_options={
            "receiving_namespaces": {"untyped": ["envoy.lb"]},
            "forwarding_namespaces": {"untyped": ["envoy.lb", "envoy.lb.subset_hint"]},
        },
    )
    hint = []
    if subset is not None:
        hint = [
            {
                "name": "envoy.filters.http.set_metadata",
                "typed_config": _typed(
                    "envoy.extensions.filters.http.set_metadata.v3.Config",
                    metadata=[
                        {
                            "metadata_namespace": "envoy.lb.subset_hint",
                            "value": {"x-gateway-destination-endpoint-subset": subset},
                        }
                    ],
                ),
            }
        ]
    override_host = _typed(
        "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
        override_host_sources=[
            {"header": "x-gateway-destination-endpoint"},
            {"metadata": {"key": "envoy.lb", "path": [{"key": "x-gateway-destination-endpoint"}]}},
        ],
        selected_host_key={"key": "envoy.lb", "path": [{"key": "x-gateway-destination-endpoint-served"}]},
        fallback_policy={
            "policies": [
                {
                    "typed_extension_config": {
                        "name": "envoy.load_balancing_policies.round_robin",
                        "typed_config": _typed("envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin"),
                    }
                }
            ]
        },
    )
    manager = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="gateway",
        route_config={
            "virtual_hosts": [
                {"name": "pool", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "pool"}}]}
            ]
        },
        http_filters=[
            *hint,
            {"name": "envoy.filters.http.ext_proc", "typed_config": ext_proc},
            {
                "name": "envoy.filters.http.router",
                "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router"),
            },
        ],
    )

    def endpoints(addresses: list[tuple[str, int]]) -> dict:
        return {
            "endpoints": [
                {
                    "lb_endpoints": [
                        {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}
                        for host, port in addresses
                    ]
                }
            ]
        }

    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "gateway",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": listener_port}},
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "pool",
                    "type": "STATIC",
                    "connect_timeout": "2s",
                    "load_balancing_policy": {
                        "policies": [
                            {
                                "typed_extension_config": {
                                    "name": "envoy.load_balancing_policies.override_host",
                                    "typed_config": override_host,
                                }
                            }
                        ]
                    },
                    "load_assignment": {"cluster_name": "pool", **endpoints(pool)},
                },
                {
                    # Kubernetes drops an unready picker from its Service's endpoints; here Envoy's gRPC
                    # health check does the same, with no panic routing to an unhealthy picker.
                    "name": "epp",
                    "type": "STATIC",
                    "connect_timeout": "2s",
                    "health_checks": [
                        {
                            "timeout": "0.5s",
                            "interval": "0.1s",
                            "no_traffic_interval": "0.1s",
                            "unhealthy_threshold": 1,
                            "healthy_threshold": 1,
                            "grpc_health_check": {"service_name": "envoy.service.ext_proc.v3.ExternalProcessor"},
                        }
                    ],
                    "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            explicit_http_config={"http2_protocol_options": {}},
                        )
                    },
                    "load_assignment": {"cluster_name": "epp", **endpoints([("127.0.0.1", picker_port)])},
                },
            ],
        },
    }
