"""The Envoy side of in-request failover: a composite cluster per failover chain, and its routes.

Envoy's composite cluster (`envoy.clusters.composite`) sends attempt k of a request to its k-th
sub-cluster, so the chain route's retry policy moves a request that failed before answering
(connect failure, reset, a retriable status, the per-try timeout) to the next model. Envoy never
retries once response headers went downstream: a streamed answer is never replayed.

The composite cluster's own upstream filters run on each attempt, with the attempt's host (so its
model, from the host metadata) known: `llmswitch.egress` rewrites attempts after the first for their
model (body `model`, API, path, credential); the first attempt keeps the body the router rendered
and costs no message unless it is translated. `llmswitch.rate_limited` sees only 429 answers (its
matcher skips every other status before a message is sent): it cools the model down for the time
the upstream asked and gives the answer a `Retry-After` if it has none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmswitch import headers as names
from llmswitch.config.schema import Config
from llmswitch.pipeline.failover import Chain

ATTEMPT_COUNT = "x-envoy-attempt-count"
ATTEMPTS_RESPONSE = "x-llmswitch-attempts"
_RETRY_LIMITS = {
    "thresholds": [
        {"max_connections": 100000, "max_pending_requests": 100000, "max_requests": 100000, "max_retries": 100000}
    ]
}


def _typed(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def _header_input(name: str, response: bool = False) -> dict:
    kind = "HttpResponseHeaderMatchInput" if response else "HttpRequestHeaderMatchInput"
    return {"name": name, "typed_config": _typed(f"envoy.type.matcher.v3.{kind}", header_name=name)}


def _skip_when(predicate: dict) -> dict:
    skip = {"name": "skip", "typed_config": _typed("envoy.extensions.filters.common.matcher.action.v3.SkipFilter")}
    return {"matcher_list": {"matchers": [{"predicate": predicate, "on_match": {"action": skip}}]}}


def first_untranslated_attempt() -> dict:
    """The chain's egress matcher: skip an attempt that is the first and not marked for translation."""
    present = {"safe_regex": {"google_re2": {}, "regex": ".*"}}
    unmarked = {"not_matcher": {"single_predicate": {"input": _header_input(names.EGRESS), "value_match": present}}}
    first = {"single_predicate": {"input": _header_input(ATTEMPT_COUNT), "value_match": {"exact": "1"}}}
    return _skip_when({"and_matcher": {"predicate": [unmarked, first]}})


def rate_limited_filter(ext_proc: dict) -> dict:
    """An ext_proc that sees 429 answers only: the matcher skips any other status before a message is sent."""
    status = _header_input(":status", response=True)
    not_429 = {"not_matcher": {"single_predicate": {"input": status, "value_match": {"exact": "429"}}}}
    return {
        "name": "llmswitch.rate_limited",
        "typed_config": _typed(
            "envoy.extensions.common.matching.v3.ExtensionWithMatcher",
            extension_config=ext_proc,
            xds_matcher=_skip_when(not_429),
        ),
    }


def chain_cluster(chain: Chain, model_clusters: dict[str, str], http_filters: list[dict]) -> dict:
    """The composite cluster of one chain: attempt k goes to the k-th model's cluster."""
    return {
        "name": chain.cluster,
        "connect_timeout": "2s",
        "lb_policy": "CLUSTER_PROVIDED",
        "circuit_breakers": _RETRY_LIMITS,  # retries are counted on this cluster; Envoy's default is 3 at once
        "cluster_type": {
            "name": "envoy.clusters.composite",
            "typed_config": _typed(
                "envoy.extensions.clusters.composite.v3.ClusterConfig",
                clusters=[{"name": model_clusters[model]} for model in chain.models],
            ),
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http_protocol_options": {}},
                http_filters=http_filters,
            )
        },
    }


def retry_policy(config: Config, chain: Chain, duration: Callable[[float], str]) -> dict:
    """Each retry goes to the chain's next model, at once (no back-off between different models)."""
    failover = config.routing.failover
    policy: dict[str, Any] = {
        "retry_on": failover.retry_on,
        "num_retries": len(chain.models) - 1,
        "retriable_status_codes": failover.retriable_status_codes,
        "retry_back_off": {"base_interval": "0.001s", "max_interval": "0.002s"},
    }
    if failover.per_try_timeout_s:
        policy["per_try_timeout"] = duration(failover.per_try_timeout_s)
    return policy


def chain_response_headers(config: Config) -> list[dict]:
    """The model that answered (its host's metadata) and how many attempts it took."""
    if not config.routing.response_headers:
        return []
    values = ((names.RESPONSE_MODEL, "%UPSTREAM_METADATA(llmswitch:model)%"), (ATTEMPTS_RESPONSE, "%UPSTREAM_REQUEST_ATTEMPT_COUNT%"))
    return [
        {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"} for key, value in values
    ]
