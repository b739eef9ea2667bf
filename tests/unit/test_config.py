import copy
import json
from pathlib import Path

import pytest

from llmswitch.cli import main
from llmswitch.config import ConfigError, load_config
from llmswitch.config.schema import Config
from tests.helpers import base_config, loaded, write_config

EXAMPLE = Path(__file__).parents[2] / "deploy" / "examples" / "config.yaml"


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loaded(data)
    return info.value.problems


def test_example_config_loads_with_contract_keys():
    config = load_config(EXAMPLE).config
    assert config.listener.port == 8080
    assert config.router.port == 50051
    assert config.routing.auto_models == ["auto"]
    assert config.routing.cluster_header == "x-llmswitch-cluster"
    assert config.routing.failure_mode_allow is False
    assert config.models[0].pricing.input_per_1m == 0.2
    assert config.decisions[0].model_refs[0].model == "large-model"
    assert config.default_model == "small-model"


def test_unknown_keys_are_rejected_with_their_path():
    data = base_config()
    data["decisions"][0]["rules"]["conditions"][0]["nmae"] = "x"
    data["routing"]["clusterheader"] = "x"
    problems = problems_of(data)
    assert "decisions[0].rules.conditions[0].nmae: Extra inputs are not permitted" in problems
    assert "routing.clusterheader: Extra inputs are not permitted" in problems


def test_undefined_signal_and_model_references_name_the_yaml_path():
    data = base_config()
    data["decisions"][0]["rules"]["conditions"][1]["name"] = "platinum"
    data["decisions"][2]["modelRefs"][1]["model"] = "huge-model"
    data["default_model"] = "tiny-model"
    problems = problems_of(data)
    assert "decisions[0].rules.conditions[1].name: no header signal named 'platinum' in signals.headers" in problems
    assert "decisions[2].modelRefs[1].model: unknown model 'huge-model'" in problems
    assert "default_model: unknown model 'tiny-model'" in problems


def test_duplicate_names_are_rejected():
    data = base_config()
    data["models"].append(copy.deepcopy(data["models"][0]))
    data["decisions"].append(copy.deepcopy(data["decisions"][1]))
    data["signals"]["keywords"].append({"name": "code", "keywords": ["x"]})
    problems = problems_of(data)
    assert "models[2].name: duplicate model 'small-model'" in problems
    assert "decisions[3].name: duplicate decision 'long_context'" in problems
    assert "signals.keywords[1].name: duplicate signal 'code'" in problems


def test_not_takes_exactly_one_condition():
    data = base_config()
    data["decisions"][0]["rules"]["operator"] = "NOT"
    assert any("decisions[0].rules" in p and "NOT takes exactly one condition" in p for p in problems_of(data))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["models"][0].update(endpoint="localhost"), "models[0].endpoint"),
        (lambda d: d["routing"].update(auto_models=["small-model"]), "routing.auto_models[0]"),
        (lambda d: d["signals"]["context"][0].pop("min_tokens"), "signals.context[0]"),
        (lambda d: d["signals"]["headers"][0].update(regex="("), "signals.headers[0]"),
        (lambda d: d["decisions"][0].update(name="default"), "decisions[0].name"),
        (lambda d: d["decisions"][2]["modelRefs"][0].update(weight=0), "decisions[2].modelRefs[0].weight"),
        (lambda d: d.update(version="v2"), "version"),
    ],
)
def test_invalid_values_point_at_their_key(mutate, expected):
    data = base_config()
    mutate(data)
    assert any(p.startswith(expected) for p in problems_of(data)), problems_of(data)


def test_invalid_yaml_is_a_config_error():
    from llmswitch.config import parse_config

    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("version: [v1")


def test_json_schema_uses_the_yaml_key_names():
    schema = Config.model_json_schema(by_alias=True)
    assert "modelRefs" in schema["$defs"]["Decision"]["properties"]
    assert schema["$defs"]["RoutingConfig"]["additionalProperties"] is False


def test_check_config_cli_exit_codes(tmp_path, capsys):
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = base_config()
    bad["default_model"] = "nope"
    assert main(["check-config", str(write_config(tmp_path / "bad.yaml", bad))]) == 2
    assert "default_model: unknown model 'nope'" in capsys.readouterr().err
    assert main(["check-config", str(tmp_path / "missing.yaml")]) == 2


def test_config_schema_cli_prints_json(capsys):
    assert main(["config-schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Config"


def test_algorithm_errors_name_the_yaml_path_once():
    data = base_config()
    data["decisions"][0]["algorithm"] = {"type": "knn", "knn": {"artifact": "knn.npz", "k": 0}}
    assert any(p.startswith("decisions[0].algorithm.knn.k:") for p in problems_of(data)), problems_of(data)


def test_budget_wrapper_needs_a_daily_limit():
    data = base_config()
    data["decisions"][0]["algorithm"] = {"type": "budget", "budget": {"budget_per_day": 5, "inner": {"type": "static"}}}
    assert (
        "decisions[0].algorithm: the budget algorithm reads daily spend: add a daily scope to budget.limits"
        in problems_of(data)
    )
