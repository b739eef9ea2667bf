"""Domain and embedding signals on the real ONNX encoder and the shipped domain head."""

import asyncio

import pytest

from llmswitch.config import ConfigError
from llmswitch.reload import RouterState
from tests.helpers import base_config, chat_body, loaded, write_config
from tests.semantic_config import semantic_config

MATH = "What is the derivative of x^3 times sin(x)?"
REFUND = "Can I please get a refund for my order?"
SMALL_TALK = "Tell me a joke about cats"


@pytest.fixture(scope="module")
def state() -> RouterState:
    return RouterState(loaded(semantic_config()))


def route(state: RouterState, prompt: str):
    return asyncio.run(state.pipeline.route_async({}, chat_body(prompt)))


def test_domain_signal_routes_a_math_question(state):
    plan = route(state, MATH)
    assert plan.decision == "math"
    [(kind, name, confidence)] = [s for s in plan.signals if s[0] == "domain"]
    assert (kind, name) == ("domain", "math") and confidence >= 0.5
    assert "semantics" in plan.timings.signals


def test_embedding_signal_matches_paraphrases(state):
    plan = route(state, REFUND)
    assert plan.decision == "refunds"
    assert any(s[:2] == ("embedding", "refund") and s[2] >= 0.55 for s in plan.signals)
    assert route(state, SMALL_TALK).decision == "default"


def test_keyword_decisions_never_compute_the_embedding(state):
    calls = []
    original = state.pipeline.analyzer.analyze

    async def counting(text):
        calls.append(text)
        return await original(text)

    state.pipeline.analyzer.analyze = counting
    try:
        assert route(state, "fix my python code").decision == "code_decision"  # priority 100, before math
        assert calls == []
        assert route(state, MATH).decision == "math"
        assert calls == [MATH]  # once per request, although two semantic signals were tested
    finally:
        del state.pipeline.analyzer.analyze


def test_concurrent_requests_share_batches_and_get_their_own_answers(state):
    async def many():
        prompts = [MATH, REFUND, SMALL_TALK] * 8
        plans = await asyncio.gather(*(state.pipeline.route_async({}, chat_body(p)) for p in prompts))
        return [p.decision for p in plans]

    assert asyncio.run(many()) == ["math", "refunds", "default"] * 8


def test_rule_only_configs_never_load_the_encoder():
    assert RouterState(loaded(base_config())).engine is None


def test_unreferenced_semantic_signals_are_not_built():
    data = semantic_config()
    data["decisions"] = [d for d in data["decisions"] if d["name"] not in ("math", "refunds")]
    assert RouterState(loaded(data)).engine is None


async def test_reload_recomputes_candidate_embeddings(tmp_path):
    from llmswitch.reload import ConfigReloader
    from llmswitch.telemetry import RouterMetrics

    data = semantic_config()
    path = write_config(tmp_path / "config.yaml", data)
    from llmswitch.config import load_config

    state = RouterState(load_config(path))
    reloader = ConfigReloader(path, state, RouterMetrics())
    assert (await state.pipeline.route_async({}, chat_body("Where is my parcel? It has not arrived"))).decision == "default"
    data["signals"]["embeddings"][0]["candidates"] = ["my package has not arrived", "where is my delivery"]
    write_config(path, data)
    assert await reloader.reload("test")
    assert state.engine is not None
    plan = await state.pipeline.route_async({}, chat_body("Where is my parcel? It has not arrived"))
    assert plan.decision == "refunds"


async def test_an_overloaded_encoder_routes_without_semantics_instead_of_stalling():
    data = semantic_config()
    data["semantics"] = {"timeout_ms": 1}
    state = RouterState(loaded(data))
    engine = state.pipeline.analyzer
    slow = asyncio.Event()

    async def stalled(text):
        await slow.wait()

    engine.analyze = stalled
    plan = await state.pipeline.route_async({}, chat_body(MATH))
    assert plan.decision == "default"  # the math domain signal could not be computed in time
    assert plan.semantics_timed_out
    assert plan.timings.signals["semantics"][1] >= 0
    assert (await state.pipeline.route_async({}, chat_body("python please"))).decision == "code_decision"


def test_quantized_setting_runs_the_int8_export_with_a_short_window():
    data = semantic_config()
    data["semantics"] = {**data.get("semantics", {}), "quantized": True, "max_tokens": 48}
    state = RouterState(loaded(data))
    assert state.engine.embedder.manifest.quantized
    assert route(state, MATH).decision == "math"
    assert route(state, REFUND).decision == "refunds"


def test_a_missing_int8_export_names_the_command_that_builds_it(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMSWITCH_MODEL_DIR", str(tmp_path))
    data = semantic_config()
    data["semantics"] = {**data.get("semantics", {}), "quantized": True}
    with pytest.raises(ConfigError, match="llmswitch models export --quantize"):
        RouterState(loaded(data))
