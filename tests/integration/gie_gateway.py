"""An Envoy configured as a Gateway API Inference Extension gateway configures itself for an
InferencePool: the endpoint picker's ext_proc in FULL_DUPLEX_STREAMED mode (request and response),
fail-open, and the pool's endpoints in a cluster whose override-host policy follows the picker."""

from __future__ import annotations

from typing import Any


def _typed(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def gateway_bootstrap(
    listener_port: int, admin_port: int, picker_port: int, pool: list[tuple[str, int]], fail_open: bool = True
) -> dict:
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
            "forwarding_namespaces": {"untyped": ["envoy.lb"]},
        },
    )
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
            {"name": "envoy.filters.http.ext_proc", "typed_config": ext_proc},
            {"name": "envoy.filters.http.router", "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router")},
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
                        {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}
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
                    "name": "epp",
                    "type": "STATIC",
                    "connect_timeout": "2s",
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
