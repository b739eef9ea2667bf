"""The `complexity` signal on the real ONNX encoder and the shipped example prompts."""

import asyncio

import pytest

from llmswitch.config import ConfigError, load_config
from llmswitch.reload import ConfigReloader, RouterState
from llmswitch.telemetry import RouterMetrics
from tests.helpers import base_config, chat_body, loaded, write_config

EASY = "What is the capital of Italy?"
HARD = "Prove that the real numbers are uncountable using a diagonal argument."


def complexity_config(**signal) -> dict:
    data = base_config()
    data["signals"]["complexity"] = [{"name": "hard_task", "level": "hard", **signal}]
    data["decisions"].append(
        {
            "name": "hard",
            "priority": 20,
            "rules": {"type": "complexity", "name": "hard_task"},
            "modelRefs": [{"model": "large-model"}],
        }
    )
    return data


def route(state: RouterState, prompt: str):
    return asyncio.run(state.pipeline.route_async({}, chat_body(prompt)))


@pytest.fixture(scope="module")
def state() -> RouterState:
    return RouterState(loaded(complexity_config(threshold=0.5)))


def test_hard_prompts_match_and_expose_their_confidence(state):
    plan = route(state, HARD)
    assert plan.decision == "hard"
    [(kind, name, confidence)] = [s for s in plan.signals if s[0] == "complexity"]
    assert (kind, name) == ("complexity", "hard_task") and 0.5 <= confidence <= 1


@pytest.mark.parametrize(
    "prompt", [EASY, "How many hours are in a day?", "Write a short email inviting my team to lunch on Friday."]
)
def test_easy_and_medium_prompts_do_not(state, prompt):
    assert route(state, prompt).decision == "default"


def test_threshold_above_any_confidence_never_matches():
    assert route(RouterState(loaded(complexity_config(threshold=1.0))), HARD).decision == "default"


def test_config_examples_replace_the_shipped_ones():
    # Inverted labels: the shipped-style hard prompt now sits with the "easy" examples.
    examples = {
        "easy": ["Prove this theorem about groups rigorously.", "Derive the equations of the proof."],
        "medium": ["Plan a weekend trip.", "Write an email to a colleague."],
        "hard": ["What is the capital of Spain?", "Who wrote Hamlet?"],
    }
    state = RouterState(loaded(complexity_config(examples=examples)))
    assert route(state, EASY).decision == "hard"
    assert route(state, HARD).decision == "default"


def test_examples_need_every_level():
    with pytest.raises(ConfigError, match=r"signals.complexity\[0\].examples.hard: Field required"):
        loaded(complexity_config(examples={"easy": ["a"], "medium": ["b"]}))


def test_unknown_level_is_rejected():
    with pytest.raises(ConfigError, match=r"signals.complexity\[0\].level"):
        loaded(complexity_config(level="extreme"))


async def test_reload_switches_the_level_and_rejects_a_bad_config(tmp_path):
    path = write_config(tmp_path / "config.yaml", complexity_config())
    state = RouterState(load_config(path))
    reloader = ConfigReloader(path, state, RouterMetrics())
    assert (await state.pipeline.route_async({}, chat_body(EASY))).decision == "default"
    data = complexity_config()
    data["signals"]["complexity"][0]["level"] = "easy"
    write_config(path, data)
    assert await reloader.reload("test")
    assert (await state.pipeline.route_async({}, chat_body(EASY))).decision == "hard"
    data["signals"]["complexity"][0]["level"] = "trivial"
    write_config(path, data)
    assert not await reloader.reload("test")
    assert (await state.pipeline.route_async({}, chat_body(EASY))).decision == "hard"
