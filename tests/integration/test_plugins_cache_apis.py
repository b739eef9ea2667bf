"""Plugins and the response cache for Anthropic Messages and OpenAI Responses clients, through the real Envoy.

`claude-model` speaks Messages natively; Responses requests go to the chat model `small-model`,
translated by the upstream filter. The cache stores what the client got, in the client's API.
"""

from collections.abc import Iterator

import anthropic
import openai
import orjson
import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import Upstreams, scrape_metrics, wait_until

pytestmark = pytest.mark.integration
CLAUDE = "claude-model"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("apis")
    ports = free_ports(7)
    data = base_config(ports[:6])
    data["models"].append(
        {"name": CLAUDE, "endpoint": f"127.0.0.1:{ports[6]}", "api": "anthropic", "reasoning_family": "anthropic"}
    )
    data["signals"]["keywords"].append({"name": "claude", "keywords": ["claude"]})
    data["decisions"].append(
        {
            "name": "claude_decision",
            "priority": 200,
            "rules": {"type": "keyword", "name": "claude"},
            "modelRefs": [{"model": CLAUDE}],
            "plugins": [
                {"type": "system_prompt", "text": "Be kind.", "mode": "prepend"},
                {"type": "reasoning", "effort": "low"},
            ],
        }
    )
    data["cache"] = {}
    with LocalStack(write_config(folder / "config.yaml", data), log_dir=folder) as stack:
        yield stack


@pytest.fixture(scope="module")
def claude(stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="k", max_retries=0, timeout=20)


@pytest.fixture(scope="module")
def oai(stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key="k", max_retries=0, timeout=20)


def stored(stack, decision: str, before: float) -> bool:
    return scrape_metrics(stack).get(("llmswitch_cache_stores_total", (("decision", decision),)), 0) > before


def stores(stack, decision: str) -> float:
    return scrape_metrics(stack).get(("llmswitch_cache_stores_total", (("decision", decision),)), 0)


def texts(message) -> list[str]:
    return [block.text for block in message.content if block.type == "text"]


def test_messages_plugins_write_claudes_dialect(stack, claude):
    upstreams = Upstreams(stack)
    upstreams.clear()
    claude.messages.create(
        model="auto",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "ask claude something"}],
        extra_body={"temperature": 0.5},
        extra_headers={"cache-control": "no-store"},
    )
    [seen] = upstreams.received(CLAUDE)
    body = orjson.loads(seen["body"])
    assert body["system"] == "Be kind.\n\nBe brief."
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 2148 and "temperature" not in body  # fixed for extended thinking


def test_messages_hits_in_both_shapes(stack, claude):
    def ask(prompt: str, **extra):
        return claude.messages.with_raw_response.create(
            model="auto", max_tokens=50, messages=[{"role": "user", "content": prompt}], **extra
        )

    before = stores(stack, "claude_decision")
    first = ask("claude, cache this JSON answer").parse()
    assert wait_until(lambda: stored(stack, "claude_decision", before))
    hit = ask("claude, cache this JSON answer")
    assert hit.headers["x-llmswitch-cache"] == "hit" and hit.parse().content == first.content
    with claude.messages.stream(
        model="auto", max_tokens=50, messages=[{"role": "user", "content": "claude, cache this JSON answer"}]
    ) as stream:  # a JSON entry replayed as Anthropic's events
        assert stream.response.headers["x-llmswitch-cache"] == "hit"
        assert texts(stream.get_final_message()) == texts(first)

    before = stores(stack, "claude_decision")
    with claude.messages.stream(
        model="auto", max_tokens=50, messages=[{"role": "user", "content": "claude, cache this stream"}]
    ) as stream:
        streamed = stream.get_final_message()
    assert wait_until(lambda: stored(stack, "claude_decision", before))
    merged = ask("claude, cache this stream")  # an SSE entry merged into a message
    assert merged.headers["x-llmswitch-cache"] == "hit"
    assert texts(merged.parse()) == texts(streamed) and merged.parse().stop_reason == streamed.stop_reason


def test_responses_hits_in_both_shapes(stack, oai):
    before = stores(stack, "default")
    first = oai.responses.create(model="auto", input="responses, cache this")
    assert wait_until(lambda: stored(stack, "default", before))
    raw = oai.responses.with_raw_response.create(model="auto", input="responses, cache this")
    assert raw.headers["x-llmswitch-cache"] == "hit" and raw.parse().output_text == first.output_text
    with oai.responses.with_streaming_response.create(model="auto", input="responses, cache this", stream=True) as r:
        assert r.headers["x-llmswitch-cache"] == "hit"
        events = list(r.parse())
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == first.output_text
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == first.output_text
