"""The clusters of the generated Envoy bootstrap: each model's (its endpoints, TLS, endpoint picking, the
upstream filters that translate and fail over), the failover chains' and the router's; and the helpers the
rest of the bootstrap builds typed configs with."""

from __future__ import annotations

from typing import Any

from llmswitch import headers as names
from llmswitch.config.schema import Config, ModelConfig
from llmswitch.endpoints.scraper import is_ip
from llmswitch.envoy_failover import chain_cluster, first_untranslated_attempt, rate_limited_filter
from llmswitch.pipeline.failover import FailoverChains

ROUTER_CLUSTER = "llmswitch_router"
ADMIN_CLUSTER = "envoy_admin"
_WILDCARD_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}
_HIGH_LIMITS = {"thresholds": [{"max_connections": 100000, "max_pending_requests": 100000, "max_requests": 100000}]}


def duration(seconds: float) -> str:
    """A protobuf Duration in fixed-point seconds: Envoy rejects exponents such as 1e+06s."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"


def typed(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def build_cluster(
    name: str,
    endpoints: list[tuple[str, int]],
    *,
    http2: bool = False,
    tls_sni: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict:
    static = all(is_ip(host) for host, _ in endpoints)
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC" if static else "STRICT_DNS",
        "connect_timeout": "2s",
        "lb_policy": "ROUND_ROBIN",
        "circuit_breakers": _HIGH_LIMITS,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": host, "port_value": port}},
                                **({} if is_ip(host) else {"hostname": host}),
                            },
                            **({"metadata": {"filter_metadata": metadata}} if metadata else {}),
                        }
                        for host, port in endpoints
                    ]
                }
            ],
        },
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        }
    if tls_sni is not None:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": typed(
                "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", sni=tls_sni
            ),
        }
    return cluster


SERVED_ENDPOINT_KEY = "x-gateway-destination-endpoint-served"
"""Where the override-host policy reports the host it chose (GIE's "destination endpoint served")."""


def _lb_policy(name: str, type_name: str) -> dict:
    return {"policies": [{"typed_extension_config": {"name": name, "typed_config": typed(type_name)}}]}


def _override_host_policy(config: Config) -> dict:
    """Envoy goes to the host the router named (header or `envoy.lb` metadata, GIE's endpoint-picker
    protocol); without one, or when the named host is not in this cluster, the fallback policy balances."""
    picking = config.endpoint_picking
    fallback = {
        "round_robin": _lb_policy(
            "envoy.load_balancing_policies.round_robin",
            "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin",
        ),
        "least_request": _lb_policy(
            "envoy.load_balancing_policies.least_request",
            "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest",
        ),
    }[picking.fallback_policy]
    namespace, header = picking.metadata_namespace, picking.destination_header
    override = typed(
        "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
        override_host_sources=[{"metadata": {"key": namespace, "path": [{"key": header}]}}, {"header": header}],
        selected_host_key={"key": namespace, "path": [{"key": SERVED_ENDPOINT_KEY}]},
        fallback_policy=fallback,
    )
    return {
        "policies": [
            {
                "typed_extension_config": {
                    "name": "envoy.load_balancing_policies.override_host",
                    "typed_config": override,
                }
            }
        ]
    }


def picks_endpoints(model: ModelConfig, config: Config) -> bool:
    """The router names this model's endpoint per request (its cluster follows the pick)."""
    return config.endpoint_picking.enabled and model.replicated


_UPSTREAM_CODEC = {
    "name": "envoy.filters.http.upstream_codec",
    "typed_config": typed("envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"),
}


def router_ext_proc(name: str, modes: tuple[str, str, str, str], **fields: Any) -> dict:
    """An ext_proc filter whose processor is the router. `modes`: the processing modes of the request
    headers, request body, response headers and response body; trailers are never sent."""
    request_headers, request_body, response_headers, response_body = modes
    processing_mode = {
        "request_header_mode": request_headers,
        "request_body_mode": request_body,
        "request_trailer_mode": "SKIP",
        "response_header_mode": response_headers,
        "response_body_mode": response_body,
        "response_trailer_mode": "SKIP",
    }
    return {
        "name": name,
        "typed_config": typed(
            "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
            grpc_service={"envoy_grpc": {"cluster_name": ROUTER_CLUSTER}},
            **fields,
            processing_mode=processing_mode,
        ),
    }


def _egress_filter(config: Config, chain: bool = False) -> dict:
    """The model cluster's upstream filter: translates an attempt into the model's API and its answer back.

    Envoy runs upstream filters per attempt. The matcher skips it unless the routing step marked the
    request for translation (`x-llmswitch-egress`), so requests already in the model's API cost nothing here.
    On a failover chain's cluster (`chain`) it also runs on every attempt after the first, which it
    rewrites for that attempt's model; the chain's cluster name tells it the chain and the client API.
    """
    ext_proc = router_ext_proc(
        "envoy.filters.http.ext_proc",
        ("SEND", "BUFFERED", "SEND", "STREAMED"),
        failure_mode_allow=False,
        status_on_error={"code": "ServiceUnavailable"},
        message_timeout=duration(config.routing.message_timeout_ms / 1000),
        allow_mode_override=True,
        request_attributes=["xds.upstream_host_metadata", *(["xds.cluster_name"] if chain else [])],
    )
    if chain:
        matcher = first_untranslated_attempt()
    else:
        egress_header = {
            "name": "egress",
            "typed_config": typed("envoy.type.matcher.v3.HttpRequestHeaderMatchInput", header_name=names.EGRESS),
        }
        present = {"safe_regex": {"google_re2": {}, "regex": ".*"}}
        unmarked = {"not_matcher": {"single_predicate": {"input": egress_header, "value_match": present}}}
        skip = {"name": "skip", "typed_config": typed("envoy.extensions.filters.common.matcher.action.v3.SkipFilter")}
        matcher = {"matcher_list": {"matchers": [{"predicate": unmarked, "on_match": {"action": skip}}]}}
    return {
        "name": "llmswitch.egress",
        "typed_config": typed(
            "envoy.extensions.common.matching.v3.ExtensionWithMatcher",
            extension_config=ext_proc,
            xds_matcher=matcher,
        ),
    }


def _rate_limited_filter(config: Config) -> dict:
    """A chain cluster's upstream filter for 429 answers (`envoy_failover.rate_limited_filter`)."""
    ext_proc = router_ext_proc(
        "envoy.filters.http.ext_proc",
        ("SKIP", "NONE", "SEND", "NONE"),
        failure_mode_allow=True,
        message_timeout=duration(config.routing.message_timeout_ms / 1000),
        response_attributes=["xds.upstream_host_metadata"],
    )
    return rate_limited_filter(ext_proc)


def chain_clusters(config: Config) -> list[dict]:
    chains = FailoverChains(config).chains
    if not chains:
        return []
    filters = [_egress_filter(config, chain=True), _rate_limited_filter(config), _UPSTREAM_CODEC]
    model_clusters = {m.name: m.cluster for m in config.models}
    return [chain_cluster(chain, model_clusters, filters) for chain in chains]


def model_cluster(model: ModelConfig, config: Config) -> dict:
    cluster = build_cluster(
        model.cluster,
        model.addresses,
        tls_sni=model.host if model.tls else None,
        metadata={"llmswitch": {"model": model.name}},
    )
    cluster["typed_extension_protocol_options"] = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            explicit_http_config={"http_protocol_options": {}},
            http_filters=[_egress_filter(config), _UPSTREAM_CODEC],
        )
    }
    if picks_endpoints(model, config):
        del cluster["lb_policy"]
        cluster["load_balancing_policy"] = _override_host_policy(config)
        if cluster["type"] == "STRICT_DNS":
            # The router resolves the same names to name hosts; both prefer IPv4.
            cluster["dns_lookup_family"] = "V4_PREFERRED"
    outlier = config.routing.outlier_detection
    if outlier.enabled:
        cluster["outlier_detection"] = {
            "consecutive_5xx": outlier.consecutive_5xx,
            "interval": duration(outlier.interval_s),
            "base_ejection_time": duration(outlier.base_ejection_time_s),
            "max_ejection_percent": 100,
        }
    return cluster


def router_cluster(config: Config) -> dict:
    router = config.router
    # A router bound to every interface is reached over loopback (the sidecar case).
    host = _WILDCARD_TO_LOOPBACK.get(router.address, router.address)
    return build_cluster(ROUTER_CLUSTER, [(host, router.port + i) for i in range(config.worker_count)], http2=True)
