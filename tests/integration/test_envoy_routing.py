"""Requests from the official openai client, through the real Envoy, routed by the real router."""

import time

import httpx
import openai
import orjson
import pytest

pytestmark = pytest.mark.integration


def ask(client, prompt: str, model: str = "auto", headers: dict | None = None):
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": prompt}], extra_headers=headers or {}
    )
    return raw.headers, raw.parse()


@pytest.mark.parametrize(
    ("prompt", "headers", "decision", "model"),
    [
        ("How do I reverse a list in Python?", {}, "code_decision", "large-model"),
        ("Tell me a joke", {"x-tier": "premium"}, "code_decision", "large-model"),
        ("Summarise: " + "lorem ipsum dolor " * 600, {}, "long_context", "large-model"),
        ("What is the capital of France?", {}, "default", "small-model"),
    ],
)
def test_routes_by_keyword_header_and_context(client, upstreams, prompt, headers, decision, model):
    response_headers, completion = ask(client, prompt, headers=headers)
    assert response_headers["x-llmswitch-decision"] == decision
    assert response_headers["x-llmswitch-model"] == model
    assert response_headers["x-upstream-name"] == model  # the stub that really answered
    assert completion.model == model
    [seen] = upstreams.received(model)
    assert seen["headers"]["x-selected-model"] == model
    assert seen["headers"]["x-llmswitch-decision"] == decision
    # A decision with a fallback sends its requests to a failover chain's cluster (the model's first).
    cluster = seen["headers"]["x-llmswitch-cluster"]
    assert cluster == f"model_{model}" if decision == "default" else cluster.startswith("failover_")
    sent = orjson.loads(seen["body"])
    assert sent["model"] == model and sent["messages"] == [{"role": "user", "content": prompt}]
    assert int(seen["headers"]["content-length"]) == len(seen["body"].encode())


def test_weighted_selection_through_envoy(client):
    counts = {"large-model": 0, "small-model": 0}
    for _ in range(200):
        headers, _ = ask(client, "hi", headers={"x-experiment": "split"})
        counts[headers["x-upstream-name"]] += 1
    # 3:1 weights: expect 150 large, sd 6.1; 5 sd either side.
    assert 120 <= counts["large-model"] <= 180, counts


def test_explicit_model_passes_through(client, upstreams):
    headers, completion = ask(client, "write python", model="small-model")
    assert (headers["x-llmswitch-decision"], headers["x-upstream-name"]) == ("passthrough", "small-model")
    assert orjson.loads(upstreams.received("small-model")[0]["body"])["model"] == "small-model"


def test_unknown_model_is_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as info:
        ask(client, "hi", model="gpt-17")
    assert info.value.status_code == 404
    assert info.value.body["code"] == "model_not_found"


def test_spoofed_routing_headers_are_ignored(client, upstreams):
    spoofed = {"x-llmswitch-cluster": "model_large-model", "x-selected-model": "large-model", "x-llmswitch-decision": "vip"}
    headers, _ = ask(client, "What is the capital of France?", headers=spoofed)
    assert headers["x-upstream-name"] == "small-model"
    [seen] = upstreams.received("small-model")
    assert seen["headers"]["x-selected-model"] == "small-model"
    assert seen["headers"]["x-llmswitch-decision"] == "default"
    assert upstreams.received("large-model") == []


def test_streaming_arrives_intact_and_unbuffered(client):
    started = time.monotonic()
    stream = client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "explain this python error"}], stream=True
    )
    arrivals, text = [], ""
    for chunk in stream:
        arrivals.append(time.monotonic() - started)
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    assert text == "".join(f"large-model part {i}. " for i in range(4))
    # The stub sleeps 50 ms between chunks: a buffering proxy would deliver them all at once.
    assert arrivals[-1] - arrivals[0] >= 0.15, arrivals


def test_sse_bytes_reach_the_client_unchanged(http, stack):
    """Through Envoy and llmswitch, byte for byte what the model sent for the same upstream body."""
    messages = [{"role": "user", "content": "python please"}]
    with http.stream("POST", "/chat/completions", json={"model": "auto", "stream": True, "messages": messages}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        through_envoy = b"".join(response.iter_raw())
    # The router asked the model for usage (accounting is on), so ask the model directly the same way.
    upstream_body = {"model": "large-model", "stream": True, "messages": messages, "stream_options": {"include_usage": True}}
    direct = httpx.post(f"http://127.0.0.1:{stack.config.models[1].port}/v1/chat/completions", json=upstream_body, timeout=10)
    assert through_envoy == direct.content
    events = [e for e in through_envoy.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]" and b'"usage"' in events[-2]


def test_models_list(http):
    response = http.get("/models")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["auto", "small-model", "large-model"]


BAD_BODIES = [
    (b"{not json", 400, "invalid_json"),
    (b"[1,2,3]", 400, "invalid_body"),
    (b'{"model": "auto"}', 400, "missing_messages"),
    (b'{"model": "auto", "messages": "hello"}', 400, "invalid_type"),
    (b'{"model": ["auto"], "messages": []}', 400, "invalid_type"),
    (b'{"model": "auto", "messages": [{"role": "user", "content": 42}]}', 400, "invalid_type"),
    (b'{"model": "auto", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}', 400, "invalid_type"),
    (b"", 400, "empty_body"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_BODIES)
def test_bad_input_gets_an_openai_error(http, body, status, code):
    response = http.post("/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


def test_body_over_the_limit_is_413_json(http, stack):
    limit = stack.config.router.max_body_bytes
    body = orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": "x" * (limit + 10)}]})
    response = http.post("/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_chunked_body_over_the_limit_is_413_json(http, stack):
    chunk = b"x" * 16384
    parts = [b'{"model": "auto", "messages": [{"role": "user", "content": "']
    parts += [chunk] * (stack.config.router.max_body_bytes // len(chunk) + 2) + [b'"}]}']
    response = http.post("/chat/completions", content=iter(parts), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
