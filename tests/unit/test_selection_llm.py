"""llm: the router model's structured answer picks the model; timeouts and bad answers fall back."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from prometheus_client import CollectorRegistry

from llmswitch.config import ConfigError
from llmswitch.selection import is_async
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.llm import LlmSelector
from llmswitch.telemetry.metrics import RouterMetrics
from tests.unit.test_selection_learned import STRONG, WEAK, context, request

ROUTER = {"base_url": "http://router.test/v1", "model": "router-llm", "timeout_ms": 200, "fallback_model": WEAK,
          "pricing": {"input_per_1m": 1.0, "output_per_1m": 2.0}}


def completion(content: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 10}}


def make(tmp_path, handler, metrics=None, **params):
    ctx = context(tmp_path, {"type": "llm", "llm": {**ROUTER, **params}},
                  **{STRONG: {"description": "best at hard maths"}, WEAK: {"description": "cheap small talk"}})
    if metrics is not None:
        ctx = SelectorContext(ctx.config, ctx.decision, 0, ctx.source, ctx.base_dir, ctx.budget, metrics)
    return LlmSelector(ctx, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_router_answer_picks_the_model_and_reports_latency_and_cost(tmp_path):
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen.update(json.loads(req.content))
        return httpx.Response(200, json=completion(json.dumps({"model": STRONG})))

    metrics = RouterMetrics(CollectorRegistry())
    selector = make(tmp_path, handler, metrics)
    assert is_async(selector)
    chosen = await selector.select_async(request("prove the Riemann hypothesis", semantics=False))
    assert chosen.model == STRONG
    assert chosen.details["router_result"] == "ok"
    assert chosen.details["router_cost"] == pytest.approx((1000 * 1.0 + 10 * 2.0) / 1e6)
    assert chosen.details["router_latency_ms"] >= 0
    schema = seen["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["model"]["enum"] == [STRONG, WEAK]
    assert "best at hard maths" in seen["messages"][0]["content"]
    assert seen["model"] == "router-llm"
    assert metrics.registry.get_sample_value("llmswitch_llm_router_calls_total", {"result": "ok"}) == 1
    assert metrics.registry.get_sample_value("llmswitch_llm_router_duration_seconds_count") == 1


@pytest.mark.parametrize(
    ("content", "status", "result"),
    [("{\"model\": \"gpt-99\"}", 200, "invalid"), ("not json", 200, "invalid"), ("", 500, "error")],
)
async def test_bad_answers_fall_back(tmp_path, content, status, result):
    selector = make(tmp_path, lambda req: httpx.Response(status, json=completion(content)))
    chosen = await selector.select_async(request("hello", semantics=False))
    assert chosen.model == WEAK
    assert chosen.details["router_result"] == result
    assert "fell back" in chosen.reason


async def test_timeout_falls_back_within_the_limit(tmp_path):
    async def slow(req: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return httpx.Response(200, json=completion(json.dumps({"model": STRONG})))

    selector = make(tmp_path, slow, timeout_ms=50)
    loop = asyncio.get_running_loop()
    start = loop.time()
    chosen = await selector.select_async(request("hello", semantics=False))
    assert loop.time() - start < 0.5
    assert (chosen.model, chosen.details["router_result"]) == (WEAK, "timeout")


def test_fallback_must_be_a_model_ref(tmp_path):
    with pytest.raises(ConfigError, match=r"decisions\[0\]\.algorithm\.llm\.fallback_model:"):
        make(tmp_path, lambda req: httpx.Response(500), fallback_model="nope")


def test_missing_api_key_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTER_KEY_FOR_TEST", raising=False)
    with pytest.raises(ConfigError, match=r"llm\.api_key_env: environment variable ROUTER_KEY_FOR_TEST"):
        make(tmp_path, lambda req: httpx.Response(500), api_key_env="ROUTER_KEY_FOR_TEST")
