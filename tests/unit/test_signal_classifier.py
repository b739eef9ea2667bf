"""The `classifier` signal: train a small classifier, export it, route on its labels."""

import asyncio
import csv
import itertools
import json
import time

import pytest

from llmswitch.config import ConfigError, load_config
from llmswitch.reload import ConfigReloader, RouterState
from llmswitch.telemetry import RouterMetrics
from llmswitch.training.classifier import TrainSettings, train_classifier
from tests.helpers import base_config, chat_body, loaded, write_config

SUBJECTS = {
    "weather": (
        [
            "Will it rain in {} tomorrow?",
            "What is the weather forecast for {} this weekend?",
            "How hot will it get in {} today?",
            "Is there a storm warning for {} tonight?",
            "Should I bring an umbrella in {} this afternoon?",
            "What's the temperature in {} right now?",
        ],
        ["Paris", "Tokyo", "Chicago", "Madrid", "Oslo", "Cairo", "Sydney", "Lima"],
    ),
    "cooking": (
        [
            "How long should I bake {} in the oven?",
            "Give me a simple recipe for {}.",
            "What spices go well with {}?",
            "How do I keep {} from getting soggy?",
            "Can I freeze leftover {}?",
            "What can I cook with {} for dinner?",
        ],
        ["lasagna", "banana bread", "roast chicken", "risotto", "apple pie", "salmon", "lentil soup", "pancakes"],
    ),
    "billing": (
        [
            "Why was my card charged twice for {}?",
            "How do I update the payment method for {}?",
            "Can I get an invoice for my {}?",
            "When will I be billed for {}?",
            "How do I cancel the subscription to {}?",
            "Is there a discount on the yearly plan for {}?",
        ],
        [
            "the premium plan",
            "my team account",
            "the storage add-on",
            "the pro tier",
            "my last order",
            "the family plan",
            "the business seats",
            "the annual licence",
        ],
    ),
}


def labelled_rows() -> list[tuple[str, str]]:
    return [
        (template.format(subject), label)
        for label, (templates, subjects) in SUBJECTS.items()
        for template, subject in itertools.product(templates, subjects)
    ]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classifier")
    data = folder / "data.csv"
    with data.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(labelled_rows())
    settings = TrainSettings(epochs=2, trainable_layers=1, max_length=32, batch_size=32)
    started = time.perf_counter()
    train_classifier(data, folder / "model", settings=settings)
    print(f"trained and exported in {time.perf_counter() - started:.1f} s")
    return folder / "model"


def classifier_config(model_dir, label="billing") -> dict:
    data = base_config()
    data["signals"]["classifiers"] = [{"name": "topic", "model_dir": str(model_dir), "threshold": 0.5}]
    data["decisions"].append(
        {
            "name": "billing",
            "priority": 20,
            "rules": {"type": "classifier", "name": "topic", "label": label},
            "modelRefs": [{"model": "large-model"}],
        }
    )
    return data


def test_held_out_accuracy_is_well_above_chance(model_dir):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    training = manifest["training"]
    print(json.dumps(training))
    assert set(manifest["labels"]) == set(SUBJECTS)
    assert training["rows"]["held_out"] >= 20
    assert training["held_out_accuracy"] >= 0.9 > 1 / len(SUBJECTS) + 0.3
    assert training["onnx_parity_max_abs_diff"] < 1e-3
    assert {p.name for p in model_dir.iterdir()} == {"model.onnx", "tokenizer.json", "labels.json", "manifest.json"}


def test_classifier_condition_routes_through_the_pipeline(model_dir):
    state = RouterState(loaded(classifier_config(model_dir)))

    def route(prompt):
        return asyncio.run(state.pipeline.route_async({}, chat_body(prompt)))

    plan = route("I was charged two times for my monthly subscription, please help")
    assert plan.decision == "billing"
    [(kind, name, confidence)] = [s for s in plan.signals if s[0] == "classifier"]
    assert (kind, name) == ("classifier", "topic=billing") and confidence >= 0.5
    assert route("What's a good recipe for vegetable curry?").decision == "default"
    assert route("fix my python code").decision == "code_decision"


def test_unknown_label_is_rejected_with_its_path(model_dir):
    with pytest.raises(ConfigError) as err:
        loaded(classifier_config(model_dir, label="sports"))
    assert any(
        p.startswith("decisions[3].rules.label: classifier 'topic' has no label 'sports'") for p in err.value.problems
    )


def test_label_belongs_to_classifier_conditions_only(model_dir):
    data = classifier_config(model_dir)
    data["decisions"][0]["rules"]["conditions"][0]["label"] = "billing"
    with pytest.raises(ConfigError, match="other types take none"):
        loaded(data)
    data = classifier_config(model_dir)
    del data["decisions"][3]["rules"]["label"]
    with pytest.raises(ConfigError, match="classifier conditions need a label"):
        loaded(data)


def test_missing_model_folder_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"signals.classifiers\[0\].model_dir: no classifier"):
        loaded(classifier_config(tmp_path / "nowhere"))


async def test_reload_switches_the_label_and_rejects_a_bad_one(model_dir, tmp_path):
    path = write_config(tmp_path / "config.yaml", classifier_config(model_dir))
    state = RouterState(load_config(path))
    reloader = ConfigReloader(path, state, RouterMetrics())
    rain = "Is it going to snow in Berlin on Sunday?"
    assert (await state.pipeline.route_async({}, chat_body(rain))).decision == "default"
    write_config(path, classifier_config(model_dir, label="weather"))
    assert await reloader.reload("test")
    assert (await state.pipeline.route_async({}, chat_body(rain))).decision == "billing"
    write_config(path, classifier_config(model_dir, label="sports"))
    assert not await reloader.reload("test")
    assert (await state.pipeline.route_async({}, chat_body(rain))).decision == "billing"
