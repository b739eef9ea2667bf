"""Decision plugins and the response cache through the real Envoy, with the openai client and stub models."""

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from openai import OpenAI

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import Upstreams, scrape_metrics, wait_until

pytestmark = pytest.mark.integration


def mode(name: str) -> dict:
    return {"type": "header", "name": name}


def plugin_config(ports: list[int]) -> dict:
    data = base_config(ports[:6])
    data["models"][1]["reasoning_family"] = "openai"
    data["models"].append({"name": "qwen-model", "endpoint": f"127.0.0.1:{ports[6]}", "reasoning_family": "qwen3"})
    data["signals"]["headers"] += [
        {"name": name, "header": "x-mode", "equals": name} for name in ("qwen", "semantic", "short")
    ]
    data["decisions"][0]["plugins"] = [
        {"type": "system_prompt", "text": "You write code.", "mode": "prepend"},
        {"type": "reasoning", "effort": "high"},
        {"type": "parameters", "clamp": {"max_tokens": {"max": 64}}, "headers": {"x-plugin": "parameters"}},
        {"type": "header_mutation", "set": {"x-team": "code"}, "remove": ["x-debug"]},
    ]
    data["decisions"] += [
        {
            "name": "qwen",
            "priority": 200,
            "rules": mode("qwen"),
            "modelRefs": [{"model": "qwen-model"}],
            "plugins": [{"type": "reasoning", "enabled": False}],
        },
        {
            "name": "semantic",
            "priority": 200,
            "rules": mode("semantic"),
            "modelRefs": [{"model": "small-model"}],
            "plugins": [{"type": "cache", "semantic": True, "similarity_threshold": 0.95}],
        },
        {
            "name": "short",
            "priority": 200,
            "rules": mode("short"),
            "modelRefs": [{"model": "small-model"}],
            "plugins": [{"type": "cache", "ttl_s": 1}],
        },
    ]
    data["cache"] = {}
    data["semantics"] = {"timeout_ms": 10000}
    return data


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("plugins")
    with LocalStack(write_config(folder / "config.yaml", plugin_config(free_ports(7))), log_dir=folder) as stack:
        yield stack


@pytest.fixture(scope="module")
def client(stack) -> OpenAI:
    return OpenAI(base_url=stack.base_url, api_key="test-key", max_retries=0, timeout=20)


@pytest.fixture
def upstreams(stack) -> Upstreams:
    upstreams = Upstreams(stack)
    upstreams.clear()
    return upstreams


def stores(stack, decision: str) -> float:
    return scrape_metrics(stack).get(("llmswitch_cache_stores_total", (("decision", decision),)), 0.0)


def ask(client: OpenAI, prompt: str, **headers: str):
    """(completion, response headers)"""
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": prompt}], extra_headers=headers
    )
    return raw.parse(), raw.headers


def ask_and_store(stack, client: OpenAI, prompt: str, decision: str, **headers: str):
    """A miss, returned once the observer has stored its answer."""
    before = stores(stack, decision)
    answer, seen = ask(client, prompt, **headers)
    assert "x-llmswitch-cache" not in seen and "x-upstream-name" in seen
    assert wait_until(lambda: stores(stack, decision) > before), stack.log("router")[-2000:]
    return answer


def stream_text(client: OpenAI, prompt: str, **headers: str) -> tuple[str, dict]:
    with client.chat.completions.with_streaming_response.create(
        model="auto", stream=True, messages=[{"role": "user", "content": prompt}], extra_headers=headers
    ) as response:
        chunks = list(response.parse())
        headers_seen = dict(response.headers)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), headers_seen


def test_each_plugin_changes_what_the_model_receives(client, upstreams):
    client.chat.completions.create(
        model="auto",
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "write python"}],
        temperature=0.3,
        max_tokens=500,
        extra_headers={"x-debug": "1", "cache-control": "no-store"},
    )
    [seen] = upstreams.received("large-model")
    body, headers = orjson.loads(seen["body"]), seen["headers"]
    assert body["messages"][0] == {"role": "system", "content": "You write code.\n\nBe terse."}
    assert body["reasoning_effort"] == "high" and "temperature" not in body  # o-series dialect, fixed
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert headers["x-team"] == "code" and headers["x-plugin"] == "parameters" and "x-debug" not in headers
    assert not {"x-llmswitch-cache-key", "x-llmswitch-budget"} & set(headers)  # internal headers stay inside

    client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-mode": "qwen"}
    )
    [seen] = upstreams.received("qwen-model")
    assert orjson.loads(seen["body"])["chat_template_kwargs"] == {"enable_thinking": False}


def test_json_and_sse_hits_in_either_shape(stack, client, upstreams):
    stored = ask_and_store(stack, client, "Say hello in JSON first.", "default")
    answer, headers = ask(client, "Say hello in JSON first.")
    assert headers["x-llmswitch-cache"] == "hit" and headers["x-llmswitch-cache-match"] == "exact"
    assert headers["x-llmswitch-decision"] == "default" and headers["x-llmswitch-model"] == "small-model"
    assert answer.choices[0].message.content == stored.choices[0].message.content == "Hello from small-model."
    text, headers = stream_text(client, "Say hello in JSON first.")  # a JSON entry, replayed as SSE
    assert text == "Hello from small-model." and headers["content-type"] == "text/event-stream"

    before = stores(stack, "default")
    text, headers = stream_text(client, "Stream me an answer.")
    assert text == "small-model part 0. small-model part 1. small-model part 2. small-model part 3. "
    assert "x-llmswitch-cache" not in headers
    assert wait_until(lambda: stores(stack, "default") > before)
    replayed, headers = stream_text(client, "Stream me an answer.")
    assert replayed == text and headers["x-llmswitch-cache"] == "hit"
    answer, headers = ask(client, "Stream me an answer.")  # an SSE entry, merged into JSON
    assert answer.choices[0].message.content == text and answer.usage.completion_tokens == 5
    assert len(upstreams.received("small-model")) == 2  # one per distinct prompt
    metrics = scrape_metrics(stack)
    assert metrics[("llmswitch_cache_hits_total", (("decision", "default"), ("match", "exact")))] >= 4
    assert metrics[("llmswitch_cache_stored_bytes_total", (("decision", "default"),))] > 0


def test_raw_sse_hit_is_a_valid_event_stream(stack, client):
    ask_and_store(stack, client, "Raw bytes please.", "default")
    body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Raw bytes please."}]}
    headers = {"authorization": "Bearer test-key"}
    with httpx.stream("POST", f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=10) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["x-llmswitch-cache"] == "hit"
    events = [line for line in raw.split(b"\n\n") if line]
    assert events[-1] == b"data: [DONE]"
    chunks = [orjson.loads(e.removeprefix(b"data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_semantic_hit_above_the_threshold_and_miss_below(stack, client, upstreams):
    ask_and_store(stack, client, "What is the capital of France?", "semantic", **{"x-mode": "semantic"})
    _, headers = ask(client, "what's the capital city of France?", **{"x-mode": "semantic"})
    assert headers["x-llmswitch-cache"] == "hit"
    assert float(headers["x-llmswitch-cache-match"].rpartition("=")[2]) >= 0.95
    _, headers = ask(client, "What is the capital of Germany?", **{"x-mode": "semantic"})
    assert "x-llmswitch-cache" not in headers
    assert len(upstreams.received("small-model")) == 2


def test_tenants_are_isolated(stack, client):
    ask_and_store(stack, client, "Tenant secret answer.", "default", **{"x-tenant-id": "acme"})
    assert ask(client, "Tenant secret answer.", **{"x-tenant-id": "acme"})[1]["x-llmswitch-cache"] == "hit"
    assert "x-llmswitch-cache" not in ask(client, "Tenant secret answer.", **{"x-tenant-id": "globex"})[1]
    other_key = OpenAI(base_url=stack.base_url, api_key="another-key", max_retries=0, timeout=20)
    assert "x-llmswitch-cache" not in ask(other_key, "Tenant secret answer.", **{"x-tenant-id": "acme"})[1]


def test_no_store_neither_reads_nor_writes(stack, client, upstreams):
    ask_and_store(stack, client, "Cached already.", "default")
    _, headers = ask(client, "Cached already.", **{"cache-control": "no-store"})
    assert "x-llmswitch-cache" not in headers
    before = stores(stack, "default")
    ask(client, "Never cached.", **{"cache-control": "no-store"})
    time.sleep(0.3)
    assert stores(stack, "default") == before
    assert "x-llmswitch-cache" not in ask(client, "Never cached.")[1]


def test_entries_expire_after_their_ttl(stack, client):
    ask_and_store(stack, client, "Short lived.", "short", **{"x-mode": "short"})
    assert ask(client, "Short lived.", **{"x-mode": "short"})[1]["x-llmswitch-cache"] == "hit"
    time.sleep(1.1)
    assert "x-llmswitch-cache" not in ask(client, "Short lived.", **{"x-mode": "short"})[1]
