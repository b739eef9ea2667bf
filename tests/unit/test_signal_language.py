"""The `language` signal: offline detection with lingua, evaluated without the encoder."""

from time import perf_counter_ns

import pytest

from llmswitch.config import ConfigError, load_config
from llmswitch.reload import ConfigReloader, RouterState
from llmswitch.telemetry import RouterMetrics
from tests.helpers import base_config, chat_body, loaded, write_config

SPANISH = "¿Cómo puedo cambiar la contraseña de mi cuenta bancaria?"
GERMAN = "Wie kann ich das Passwort meines Bankkontos ändern?"
ENGLISH = "How can I change the password of my bank account?"


def language_config(languages=("es",), min_confidence=0.5) -> dict:
    data = base_config()
    data["signals"]["language"] = [{"name": "spanish", "languages": list(languages), "min_confidence": min_confidence}]
    data["decisions"].append(
        {
            "name": "spanish",
            "priority": 20,
            "rules": {"type": "language", "name": "spanish"},
            "modelRefs": [{"model": "large-model"}],
        }
    )
    return data


@pytest.fixture(scope="module")
def state() -> RouterState:
    return RouterState(loaded(language_config()))


def test_spanish_matches_with_its_confidence(state):
    plan = state.pipeline.route({}, chat_body(SPANISH))  # synchronous: no semantic analysis needed
    assert plan.decision == "spanish"
    [(kind, name, confidence)] = [s for s in plan.signals if s[0] == "language"]
    assert (kind, name) == ("language", "spanish") and confidence > 0.9


@pytest.mark.parametrize("prompt", [ENGLISH, GERMAN, "Quelle est la capitale du Portugal ?", "1 + 1 = ?"])
def test_other_languages_do_not_match(state, prompt):
    assert state.pipeline.route({}, chat_body(prompt)).decision == "default"


def test_language_configs_do_not_load_the_encoder(state):
    assert state.engine is None


def test_min_confidence_is_enforced():
    # "hola" alone is ambiguous between Spanish and its neighbours.
    state = RouterState(loaded(language_config(min_confidence=0.99)))
    assert state.pipeline.route({}, chat_body("hola amigo")).decision == "default"
    assert state.pipeline.route({}, chat_body(SPANISH)).decision == "spanish"


def test_unknown_codes_are_rejected_with_the_path():
    with pytest.raises(ConfigError, match=r"signals.language\[0\].languages.0"):
        loaded(language_config(languages=("xx",)))
    with pytest.raises(ConfigError, match=r"signals.language\[0\].languages"):
        loaded(language_config(languages=()))


def test_detection_is_cheap(state):
    state.pipeline.route({}, chat_body(SPANISH))
    runs = 200
    started = perf_counter_ns()
    for _ in range(runs):
        state.pipeline.route({}, chat_body(SPANISH))
    per_route_us = (perf_counter_ns() - started) / runs / 1000
    print(f"route with language detection: {per_route_us:.0f} us")
    assert per_route_us < 5000


async def test_reload_switches_language_and_rejects_a_bad_config(tmp_path):
    path = write_config(tmp_path / "config.yaml", language_config())
    state = RouterState(load_config(path))
    reloader = ConfigReloader(path, state, RouterMetrics())
    assert state.pipeline.route({}, chat_body(GERMAN)).decision == "default"
    write_config(path, language_config(languages=("de",)))
    assert await reloader.reload("test")
    assert state.pipeline.route({}, chat_body(GERMAN)).decision == "spanish"
    assert state.pipeline.route({}, chat_body(SPANISH)).decision == "default"
    write_config(path, language_config(languages=("german",)))
    assert not await reloader.reload("test")
    assert state.pipeline.route({}, chat_body(GERMAN)).decision == "spanish"
