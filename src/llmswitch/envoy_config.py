"""Generates the Envoy bootstrap that fronts llmswitch, from the same config the router reads.

Two-message mode: the ext_proc filter sends the request headers, then the buffered body; the
router sets the cluster header and clears the route cache. One-message mode (`config.one_message`):
the filter skips the headers and sends the buffered body with the headers routing reads as request
attributes; the router answers with dynamic metadata, a buffer filter holds the headers until then,
each model's route matches its cluster in the metadata, and a header-mutation filter writes the
metadata's headers into the request. Body-less requests send no message in that mode: the route
config answers them (`pipeline.bodyless`). Client copies of the routing headers are removed before
any route is chosen, so a client cannot pick a cluster even when the router is down and
`failure_mode_allow` lets requests through to the default model.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from llmswitch import headers as names
from llmswitch.config.safety import SAFETY_PLUGIN_TYPES
from llmswitch.config.schema import Config, ModelConfig
from llmswitch.envoy_clusters import (
    ADMIN_CLUSTER,
    build_cluster,
    chain_clusters,
    duration,
    model_cluster,
    router_cluster,
    router_ext_proc,
    typed,
)
from llmswitch.envoy_failover import chain_response_headers, retry_policy
from llmswitch.extproc.attributes import request_attributes
from llmswitch.extproc.responses import CLUSTER_KEY, METADATA_NAMESPACE
from llmswitch.pipeline.bodyless import BodylessAnswers, FixedAnswer
from llmswitch.pipeline.egress import CREDENTIAL_HEADERS
from llmswitch.pipeline.failover import Chain, FailoverChains
from llmswitch.pipeline.wire import forwarded_headers
from llmswitch.protocols.paths import API_PATHS


def _response_headers(config: Config) -> dict:
    """Envoy copies the routing result from the routed request into the client's response: no ext_proc
    response-headers message. Requests the router did not route (fail-open) get neither header; the
    safety findings are copied where a safety plugin may report some (an absent header adds nothing)."""
    if not config.routing.response_headers:
        return {}
    copies = [(names.RESPONSE_MODEL, names.SELECTED_MODEL), (names.RESPONSE_DECISION, names.DECISION)]
    if any(p.type in SAFETY_PLUGIN_TYPES for plugins in config.plugin_lists().values() for p in plugins):
        copies.append((names.SAFETY, names.SAFETY))
    return {
        "response_headers_to_add": [
            {"header": {"key": key, "value": f"%REQ({source})%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
            for key, source in copies
        ]
    }


def _metadata_options(config: Config, direction: str) -> dict:
    """With endpoint picking, the router sets (`receiving`) and the observer reads (`forwarding`) `envoy.lb`."""
    if not config.endpoint_picking.enabled:
        return {}
    return {"metadata_options": {f"{direction}_namespaces": {"untyped": [config.endpoint_picking.metadata_namespace]}}}


def _ext_proc_filter(config: Config) -> dict:
    routing = config.routing
    one_message: dict[str, Any] = {}
    receiving = [METADATA_NAMESPACE] if config.one_message else []
    if config.endpoint_picking.enabled:
        receiving.append(config.endpoint_picking.metadata_namespace)
    if receiving:
        one_message["metadata_options"] = {"receiving_namespaces": {"untyped": receiving}}
    if config.one_message:
        one_message["request_attributes"] = request_attributes(config)
    return router_ext_proc(
        "envoy.filters.http.ext_proc",
        ("SKIP" if config.one_message else "SEND", "BUFFERED", "SKIP", "NONE"),
        failure_mode_allow=routing.failure_mode_allow,
        # Router unreachable or too slow (fail closed): 503, so clients retry as they would any outage.
        status_on_error={"code": "ServiceUnavailable"},
        message_timeout=duration(routing.message_timeout_ms / 1000),
        **one_message,
    )


def _one_message_filters(config: Config) -> list[dict]:
    """After ext_proc in one-message mode: hold the headers until the body's reply, then write its headers.

    Without the buffer filter the router would pick the route from the headers before the body is routed.
    It also sets the (new) body's content-length. The cluster header is written too, as in two-message
    mode (the route reads the metadata). A header the metadata lacks is left as it is.
    """
    sources = [(config.routing.cluster_header, CLUSTER_KEY), *((name, name) for name in forwarded_headers(config))]
    mutations = [
        {
            "append": {
                "header": {"key": name, "value": f"%DYNAMIC_METADATA({METADATA_NAMESPACE}:{key})%"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        }
        for name, key in sources
    ]
    return [
        {
            "name": "envoy.filters.http.buffer",
            "typed_config": typed(
                "envoy.extensions.filters.http.buffer.v3.Buffer", max_request_bytes=config.router.max_body_bytes
            ),
        },
        {
            "name": "llmswitch.plan_headers",
            "typed_config": typed(
                "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                mutations={"request_mutations": mutations},
            ),
        },
    ]


_API_PATH_TAILS = "|".join(re.escape(path.removeprefix("/v1")) for path in API_PATHS.values())


def _model_route(model: ModelConfig, upstream: dict, chain: Chain | None = None) -> dict:
    """One-message mode: the route of requests the router sent to `model` (its cluster in the metadata),
    or to a failover `chain` that starts with `model`."""
    cluster = chain.cluster if chain is not None else model.cluster
    matcher = {
        "filter": METADATA_NAMESPACE,
        "path": [{"key": CLUSTER_KEY}],
        "value": {"string_match": {"exact": cluster}},
    }
    action: dict[str, Any] = {"cluster": cluster, **upstream}
    if model.base_path != "/v1":  # what the router's egress step sets as :path in two-message mode
        passthrough = [re.escape(path.removeprefix("/v1")) for _, path in sorted(model.passthrough_endpoints)]
        tails = "|".join([_API_PATH_TAILS, *(p for p in passthrough if p)])
        pattern = {"regex": f"^/v1({tails})$"}
        action["regex_rewrite"] = {"pattern": pattern, "substitution": f"{model.base_path}\\1"}
    route: dict[str, Any] = {
        "name": f"routed_{cluster}",
        "match": {"prefix": "/", "dynamic_metadata": [matcher]},
        "route": action,
    }
    if model.api_key_env is not None:  # the client's own credentials never reach a model with a key
        route["request_headers_to_remove"] = [h for h in CREDENTIAL_HEADERS if h != model.key_header]
    return route


def _direct_route(index: int, answer: FixedAnswer) -> dict:
    methods = {"safe_regex": {"regex": "|".join(answer.methods)}}
    respond = answer.respond
    return {
        "name": f"bodyless_{index}",
        "match": {
            "safe_regex": {"regex": answer.path_regex},
            "headers": [{"name": ":method", "string_match": methods}],
        },
        "direct_response": {"status": respond.status, "body": {"inline_string": respond.body.decode()}},
        "response_headers_to_add": [
            {
                "header": {"key": "content-type", "value": respond.content_type},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
    }


def _chain_route(chain: Chain, config: Config, upstream: dict) -> dict:
    """The route of a failover chain's requests: its retry policy moves a failed attempt to the next model."""
    upstream = {**upstream, "retry_policy": retry_policy(config, chain, duration)}
    if config.one_message:
        route = _model_route(config.model(chain.models[0]), upstream, chain)
    else:
        header = {"name": config.routing.cluster_header, "string_match": {"exact": chain.cluster}}
        route = {
            "name": f"routed_{chain.cluster}",
            "match": {"prefix": "/", "headers": [header]},
            "route": {"cluster": chain.cluster, **upstream},
        }
    if added := chain_response_headers(config):
        route["response_headers_to_add"] = added
    return route


def _routes(config: Config, upstream: dict) -> list[dict]:
    routing = config.routing
    default_cluster = config.model(config.default_model).cluster
    default = {"name": "default_model", "match": {"prefix": "/"}, "route": {"cluster": default_cluster, **upstream}}
    chains = [_chain_route(chain, config, upstream) for chain in FailoverChains(config).chains]
    if not config.one_message:
        routed = {
            "name": "routed",
            "match": {"prefix": "/", "headers": [{"name": routing.cluster_header, "present_match": True}]},
            "route": {"cluster_header": routing.cluster_header, **upstream},
        }
        return [*chains, routed, default]
    # Requests with a body always reach the router, which routes them (metadata) or answers them; a POST
    # without metadata therefore had no body (failure_mode_allow is off in this mode).
    return [
        *(_model_route(model, upstream) for model in config.models),
        *chains,
        *(_direct_route(i, answer) for i, answer in enumerate(BodylessAnswers(config).answers)),
        default,
    ]


def _direct_response_limit(config: Config) -> dict:
    """Room for the largest direct response (the model list) beyond Envoy's default 4 KiB."""
    if not config.one_message:
        return {}
    largest = max(len(answer.respond.body) for answer in BodylessAnswers(config).answers)
    return {"max_direct_response_body_size_bytes": max(4096, largest)}


def _observer_filter(config: Config) -> dict:
    """Sees routed requests and their responses without holding them: usage, cost, health, budgets."""
    return router_ext_proc(
        "llmswitch.response_observer",
        ("SEND", "NONE", "SEND", "STREAMED"),
        observability_mode=True,
        failure_mode_allow=True,
        **_metadata_options(config, "forwarding"),
    )


def _retry_policy(config: Config) -> dict:
    retries = config.routing.retries
    policy: dict[str, Any] = {
        "retry_on": retries.retry_on,
        "num_retries": retries.num_retries,
        "retriable_status_codes": retries.retriable_status_codes,
    }
    if retries.per_try_timeout_s:
        policy["per_try_timeout"] = duration(retries.per_try_timeout_s)
    return policy


def _local_reply_config() -> dict:
    """Envoy's own error replies (malformed request, body too large, router or model unreachable) in
    OpenAI's error shape.

    The router's immediate responses and the generated direct responses (one-message mode's body-less
    answers) are JSON already, in the client API's shape; their response code details are `llmswitch_...`
    and `direct_response`, so no mapper touches them.
    """

    def mapper(status: int, error_type: str, code: str, message: str) -> dict:
        expression = (
            f"response.code == {status} && !response.code_details.startsWith('llmswitch_')"
            " && response.code_details != 'direct_response'"
        )
        return {
            "filter": {
                "extension_filter": {
                    "name": "envoy.access_loggers.extension_filters.cel",
                    "typed_config": typed(
                        "envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter", expression=expression
                    ),
                }
            },
            "body_format_override": {
                "json_format": {"error": {"message": message, "type": error_type, "code": code}},
                "content_type": "application/json",
            },
        }

    return {
        "mappers": [
            # A malformed request line, a `#` fragment in the path, ...: Envoy's own 400s have no body.
            mapper(400, "invalid_request_error", "bad_request", "Bad request: %RESPONSE_CODE_DETAILS%"),
            mapper(413, "invalid_request_error", "request_too_large", "The request body exceeds the size limit."),
            mapper(502, "server_error", "bad_gateway", "The model server failed: %RESPONSE_CODE_DETAILS%"),
            mapper(503, "server_error", "service_unavailable", "Service unavailable: %RESPONSE_CODE_DETAILS%"),
            mapper(504, "server_error", "timeout", "Timed out: %RESPONSE_CODE_DETAILS%"),
        ]
    }


def _http_connection_manager(config: Config) -> dict:
    routing = config.routing
    upstream = {
        "timeout": duration(routing.request_timeout_s),
        "auto_host_rewrite": True,
        "retry_policy": _retry_policy(config),
    }
    removed = names.routing_headers(routing.cluster_header, *names.gateway_headers(config))
    failover = bool(FailoverChains(config).chains)
    # A chain route's response headers (the model that answered) win over the config-wide copies.
    mutations_order = {"most_specific_header_mutations_wins": True} if failover else {}
    # The attempt number tells a chain cluster's egress filter which attempts to rewrite.
    attempt_count = {"include_request_attempt_count": True} if failover else {}
    filters = [_ext_proc_filter(config)]
    if config.one_message:
        filters += _one_message_filters(config)
    if config.accounting.enabled:
        filters.append(_observer_filter(config))
    return typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="llmswitch",
        codec_type="AUTO",
        # The router, the routes and the model all see one canonical path: /v1/./chat//completions and
        # /v1%2Fchat/completions are /v1/chat/completions.
        normalize_path=True,
        merge_slashes=True,
        path_with_escaped_slashes_action="UNESCAPE_AND_FORWARD",
        # The router checks requests against the same limits, keeping room for the headers it adds.
        max_request_headers_kb=routing.max_request_headers_kb,
        common_http_protocol_options={"max_headers_count": routing.max_request_headers},
        early_header_mutation_extensions=[
            {
                "name": "envoy.http.early_header_mutation.header_mutation",
                "typed_config": typed(
                    "envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
                    mutations=[{"remove": h} for h in removed],
                ),
            }
        ],
        route_config={
            "name": "llmswitch_routes",
            "virtual_hosts": [{"name": "llm", "domains": ["*"], "routes": _routes(config, upstream), **attempt_count}],
            **_direct_response_limit(config),
            **mutations_order,
            # Internal to Envoy and the router: the observer reads them, the model never sees them.
            "request_headers_to_remove": list(names.INTERNAL),
            **_response_headers(config),
        },
        http_filters=[
            *filters,
            {"name": "envoy.filters.http.router", "typed_config": typed("envoy.extensions.filters.http.router.v3.Router")},
        ],
        local_reply_config=_local_reply_config(),
    )


def _http_listener(name: str, address: str, port: int, manager: dict) -> dict:
    return {
        "name": name,
        "address": {"socket_address": {"address": address, "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}],
    }


def _probe_listener(config: Config) -> dict:
    """GET /ready from the admin interface, 404 for everything else: the admin API stays private."""
    routes = [
        {"match": {"path": "/ready"}, "route": {"cluster": ADMIN_CLUSTER}},
        {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
    ]
    manager = typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="envoy_probe",
        codec_type="AUTO",
        route_config={"name": "envoy_probe", "virtual_hosts": [{"name": "probe", "domains": ["*"], "routes": routes}]},
        http_filters=[{"name": "envoy.filters.http.router", "typed_config": typed("envoy.extensions.filters.http.router.v3.Router")}],
    )
    return _http_listener("envoy_probe", config.listener.address, config.listener.probe_port, manager)


# Envoy half-closes each ext_proc stream when the request ends and waits for the router's status,
# instead of resetting it. A reset stream makes grpc.aio leak the failed status batch of every
# request (grpc/grpc#43360): about 150 bytes of router memory per request, measured with wrk.
RUNTIME_FLAGS = {"envoy.reloadable_features.ext_proc_graceful_grpc_close": True}


def envoy_bootstrap(config: Config) -> dict:
    listener = config.listener
    main = _http_listener("llmswitch_listener", listener.address, listener.port, _http_connection_manager(config))
    # Buffered bodies up to the router's limit; larger ones get 413.
    main["per_connection_buffer_limit_bytes"] = config.router.max_body_bytes
    bootstrap = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": listener.admin_port}}},
        "static_resources": {
            "listeners": [main],
            "clusters": [
                router_cluster(config),
                *(model_cluster(m, config) for m in config.models),
                *chain_clusters(config),
            ],
        },
        "layered_runtime": {"layers": [{"name": "static", "static_layer": RUNTIME_FLAGS}]},
    }
    if listener.probe_port is not None:
        bootstrap["static_resources"]["listeners"].append(_probe_listener(config))
        bootstrap["static_resources"]["clusters"].append(build_cluster(ADMIN_CLUSTER, [("127.0.0.1", listener.admin_port)]))
    return bootstrap


class _Dumper(yaml.SafeDumper):
    """Writes shared values in full: no YAML anchors in a file people read."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def render_envoy_yaml(config: Config) -> str:
    header = "# Generated by `llmswitch envoy-config`; edit the llmswitch config instead.\n"
    return header + yaml.dump(envoy_bootstrap(config), Dumper=_Dumper, sort_keys=False, width=120)
