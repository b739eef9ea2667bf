"""Failover chains: which models a routed request may go to, in order, and their Envoy clusters."""

from llmswitch.envoy_config import envoy_bootstrap
from llmswitch.pipeline.failover import FailoverChains
from tests.helpers import base_config, loaded


def _config(**routing):
    data = base_config(**routing)
    data["models"].append({"name": "backup-model", "endpoint": "127.0.0.1:9003", "api": "anthropic"})
    data["routing"]["fallback_models"] = ["backup-model"]
    return loaded(data).config


def test_chains_follow_the_decision_then_the_fallbacks_then_the_default():
    chains = FailoverChains(_config())
    code = chains.by_cluster(chains.cluster("code_decision", "large-model", "chat"))
    assert code.models == ("large-model", "backup-model", "small-model") and code.api == "chat"
    split = chains.by_cluster(chains.cluster("split_test", "small-model", "messages"))
    assert split.models == ("small-model", "large-model", "backup-model") and split.api == "messages"
    default = chains.by_cluster(chains.cluster("default", "small-model", "chat"))
    assert default.models == ("small-model", "backup-model")
    assert code.after("small-model") == ("large-model", "backup-model") and code.after("large-model") == ()


def test_no_chain_for_passthrough_disabled_failover_or_a_lone_model():
    chains = FailoverChains(_config())
    assert chains.cluster("passthrough", "large-model", "chat") is None
    assert chains.cluster("code_decision", "large-model", None) is None
    assert FailoverChains(_config(failover={"enabled": False})).chains == []
    assert FailoverChains(loaded(base_config()).config).cluster("default", "small-model", "chat") is None


def test_max_attempts_bounds_the_chain():
    chains = FailoverChains(_config(failover={"max_attempts": 2}))
    assert chains.by_cluster(chains.cluster("code_decision", "large-model", "chat")).models == ("large-model", "backup-model")


def test_each_chain_is_a_composite_cluster_with_its_route():
    config = _config(ext_proc_messages="two", failover={"per_try_timeout_s": 2})
    bootstrap = envoy_bootstrap(config)
    cluster_name = FailoverChains(config).cluster("code_decision", "large-model", "chat")
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    composite = clusters[cluster_name]
    assert composite["cluster_type"]["name"] == "envoy.clusters.composite"
    subs = composite["cluster_type"]["typed_config"]["clusters"]
    assert [s["name"] for s in subs] == ["model_large-model", "model_backup-model", "model_small-model"]
    assert composite["circuit_breakers"]["thresholds"][0]["max_retries"] >= 1000
    filters = composite["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["http_filters"]
    assert [f["name"] for f in filters] == ["llmswitch.egress", "llmswitch.rate_limited", "envoy.filters.http.upstream_codec"]
    manager = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    host = manager["route_config"]["virtual_hosts"][0]
    assert host["include_request_attempt_count"] is True
    route = next(r for r in host["routes"] if r.get("route", {}).get("cluster") == cluster_name)
    policy = route["route"]["retry_policy"]
    assert policy["num_retries"] == 2 and 429 in policy["retriable_status_codes"]
    assert policy["per_try_timeout"] == "2s"
    assert route["response_headers_to_add"][0]["header"]["value"] == "%UPSTREAM_METADATA(llmswitch:model)%"
    # Chain routes come before the generic routed one, which would match their cluster header too.
    names = [r["name"] for r in host["routes"]]
    assert names.index(route["name"]) < names.index("routed")


def _pipeline(monkeypatch):
    from llmswitch.pipeline import RoutingPipeline

    monkeypatch.setenv("LARGE_KEY", "sk-large")
    data = base_config(ext_proc_messages="two")
    data["models"][1].update(api_key_env="LARGE_KEY", base_path="/openai/v1")
    data["models"].append({"name": "backup-model", "endpoint": "127.0.0.1:9003", "api": "anthropic", "upstream_model": "claude-x"})
    data["routing"]["fallback_models"] = ["backup-model"]
    return RoutingPipeline(loaded(data))


def test_a_failover_attempt_is_rewritten_for_its_model(monkeypatch):
    pipeline = _pipeline(monkeypatch)
    cluster = pipeline.egress.chains.cluster("code_decision", "large-model", "chat")
    # The headers as the first attempt left them: large-model's path and key.
    headers = {":path": "/openai/v1/chat/completions?x=1", "authorization": "Bearer sk-large", "x-gateway-model-name": "large-model"}
    attempt = pipeline.upstream_attempt(headers, "backup-model", cluster)
    assert attempt is not None and attempt.translates_response and [m.name for m in attempt.failed] == ["large-model"]
    upstream = attempt.request(b'{"model": "large-model", "messages": [{"role": "user", "content": "hi"}]}')
    assert b'"model":"claude-x"' in upstream.body and b'"max_tokens"' in upstream.body
    set_headers = dict(upstream.set_headers)
    assert set_headers[":path"] == "/v1/messages?x=1"
    assert set_headers["x-gateway-model-name"] == "claude-x"
    assert "authorization" in upstream.remove_headers  # large-model's key never reaches backup-model
    headers_set, _ = attempt.response_headers(200, "application/json")
    assert ("x-llmswitch-failover", "large-model") in headers_set


def test_the_first_attempt_of_a_chain_is_left_alone_unless_translated(monkeypatch):
    pipeline = _pipeline(monkeypatch)
    cluster = pipeline.egress.chains.cluster("code_decision", "large-model", "chat")
    first = pipeline.upstream_attempt({":path": "/v1/chat/completions"}, "large-model", cluster)
    assert first is not None and not first.sees_response and first.failed == []
    assert pipeline.upstream_attempt({":path": "/v1/chat/completions"}, "large-model") is None
