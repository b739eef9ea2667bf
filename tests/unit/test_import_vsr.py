"""`llmswitch import vsr`: vLLM Semantic Router configs (written here from its documented syntax) convert into
llmswitch configs that pass check-config, with everything left out listed by its YAML path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest
import yaml

from llmswitch.cli import main
from llmswitch.config import ConfigError, parse_config
from llmswitch.demo.stack import envoy_binary
from llmswitch.envoy_config import render_envoy_yaml
from llmswitch.importers.vsr import import_vsr
from llmswitch.importers.vsr.signals import token_count
from llmswitch.pipeline import RoutingPipeline

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def v03():
    return import_vsr((DATA / "vsr_v03.yaml").read_text(), "vsr_v03.yaml")


def unmapped(result) -> dict[str, str]:
    return {item.path: item.message for item in result.report.unmapped}


def changed(result) -> dict[str, str]:
    return {item.path: item.message for item in result.report.changed}


def test_models_carry_endpoint_tls_key_env_pricing_and_card(v03):
    small, big = v03.config["models"]
    assert small == {
        "name": "small-chat",
        "endpoint": "10.0.0.5:8000",
        "api_key_env": "SMALL_KEY",
        "upstream_model": "acme/small-chat-8b",
        "pricing": {"input_per_1m": 0.1, "output_per_1m": 0.3},
        "description": "Fast and cheap.",
        "context_window": 32768,
    }
    assert big["endpoint"] == "llm.example.com:443" and big["tls"] is True and "api_key_env" not in big
    assert v03.config["default_model"] == "small-chat"
    assert v03.config["listener"] == {"address": "0.0.0.0", "port": 8899}
    assert v03.config["routing"] == {"request_timeout_s": 120.0, "auto_models": ["auto", "vllm-sr/auto"]}
    left_out = unmapped(v03)
    assert left_out["providers.models[2]"].startswith("api_format 'anthropic'")
    assert "environment variables" in left_out["providers.models[1].backend_refs[0].api_key"]
    assert "one endpoint" in left_out["providers.models[0].backend_refs[1]"]
    assert "providers.models[0].pricing.cached_input_per_1m" in left_out
    assert "routing.modelCards[1].loras" in left_out


def test_signals_map_to_llmswitch_families(v03):
    signals = v03.config["signals"]
    assert signals["keywords"][0] == {
        "name": "code_words",
        "keywords": ["python", "def ", "stack trace"],
        "case_sensitive": False,
        "operator": "any",
    }
    assert [s["name"] for s in signals["keywords"]] == ["code_words", "no_legal"]  # bm25 is left out
    assert signals["embeddings"] == [
        {
            "name": "support",
            "candidates": ["reset my password", "billing question"],
            "threshold": 0.72,
            "aggregation": "max",
        }
    ]
    assert signals["domains"] == [
        {"name": "math", "categories": ["math"]},
        {"name": "computer_science", "categories": ["computer science"]},
    ]
    assert signals["language"] == [
        {"name": "es", "languages": ["es"], "min_confidence": 0.3},
        {"name": "zh", "languages": ["zh"], "min_confidence": 0.6},
    ]
    assert signals["context"] == [{"name": "long_context", "min_tokens": 32000, "max_tokens": 256000}]
    assert [s["name"] for s in signals["complexity"]] == [
        "needs_reasoning:easy",
        "needs_reasoning:medium",
        "needs_reasoning:hard",
    ]
    left_out = unmapped(v03)
    assert left_out["routing.signals.keywords[2]"].startswith("method 'bm25'")
    assert "geography" in left_out["routing.signals.domains[2]"]
    assert "'computer science' is named 'computer_science'" in changed(v03)["routing.signals.domains[1].name"]


def test_jailbreak_and_pii_signals_map_by_meaning_with_what_differs_reported(v03):
    signals = v03.config["signals"]
    assert signals["jailbreak"] == [{"name": "prompt_injection", "method": "both", "threshold": 0.8}]
    # EMAIL_ADDRESS allowed; PERSON is not a type llmswitch detects
    assert signals["pii"] == [{"name": "restricted_pii", "types": ["phone", "credit_card", "iban", "national_id", "ip_address"]}]
    left_out, notes = unmapped(v03), changed(v03)
    assert "built in" in left_out["routing.signals.jailbreak[0].jailbreak_patterns"]
    assert "every user turn" in left_out["routing.signals.pii[0].include_history"]
    assert left_out["routing.signals.pii[1]"] == "every PII type llmswitch detects is allowed: it would never match"
    assert "another model's probability" in notes["routing.signals.jailbreak[0]"]
    assert "does not detect PERSON" in notes["routing.signals.pii[0]"]
    assert "['PERSON']" in notes["routing.signals.pii[0].pii_types_allowed"]


def test_decisions_keep_rules_refs_and_algorithms(v03):
    decisions = {d["name"]: d for d in v03.config["decisions"]}
    assert list(decisions) == ["math_route", "code_route", "guarded_route", "plain_talk", "support_route", "default_2"]
    math = decisions["math_route"]
    assert math["algorithm"] == {"type": "knn", "knn": {"k": 5}}
    assert math["modelRefs"] == [{"model": "small-chat"}, {"model": "big-chat"}]
    assert decisions["code_route"]["rules"]["conditions"][1] == {
        "operator": "AND",
        "conditions": [
            {"type": "domain", "name": "computer_science"},
            {"type": "complexity", "name": "needs_reasoning:hard"},
        ],
    }
    # router-wide svm settings reach the decision that names the algorithm only
    assert decisions["code_route"]["algorithm"] == {"type": "svm", "svm": {"kernel": "rbf", "gamma": 1.0}}
    assert decisions["plain_talk"]["rules"]["conditions"][0] == {
        "operator": "NOT",
        "conditions": [{"type": "keyword", "name": "no_legal"}],
    }
    assert decisions["plain_talk"]["algorithm"] == {"type": "weighted"}
    assert decisions["plain_talk"]["modelRefs"] == [{"model": "small-chat"}, {"model": "big-chat"}]
    assert "algorithm" not in decisions["support_route"]  # confidence -> static
    assert decisions["default_2"]["algorithm"] == {"type": "mlp", "mlp": {"device": "cuda"}}
    assert v03.config["model_selection"] == {"ml": {"models_path": "trained/selection"}}
    left_out = unmapped(v03)
    assert decisions["guarded_route"]["rules"] == {
        "operator": "NOT",
        "conditions": [{"type": "jailbreak", "name": "prompt_injection"}],
    }
    assert decisions["math_route"]["plugins"] == [{"type": "system_prompt", "text": "You are a math tutor.", "mode": "replace"}]
    assert "routing.decisions[0].plugins[1]" not in left_out  # disabled plugins are nothing to carry
    assert "routing.decisions[0].modelRefs[0].use_reasoning" not in left_out  # false is the default
    assert "routing.decisions[0].modelRefs[1].use_reasoning" in left_out
    assert "'confidence'" in left_out["routing.decisions[4].algorithm.type"]
    assert left_out["routing.decisions[5].modelRefs[0]"] == "model 'claude-like' was not carried over"
    assert "pretrained_path" in next(p for p in left_out if p.startswith("global.router.model_selection.ml.svm"))
    assert "reserved" in changed(v03)["routing.decisions[5].name"]


def test_observability_becomes_telemetry(v03):
    assert v03.config["telemetry"] == {
        "metrics": {"enabled": True},
        "tracing": {
            "enabled": True,
            "endpoint": "otel-collector:4317",
            "sampling_ratio": 0.25,
            "service_name": "router",
        },
    }
    left_out = unmapped(v03)
    assert "global.services.observability.tracing.resource.deployment_environment" in left_out
    assert "global.services.response_api" in left_out
    assert "global.services.router_replay" not in left_out  # switched off: nothing to carry


def test_decision_plugins_become_llmswitch_plugins(v03):
    guarded = next(d for d in v03.config["decisions"] if d["name"] == "guarded_route")
    assert guarded["plugins"] == [
        {"type": "jailbreak", "action": "block", "method": "both", "threshold": 0.85},
        {"type": "pii", "action": "block", "types": ["phone", "credit_card", "iban", "national_id", "ip_address"]},
        {"type": "cache", "semantic": True, "similarity_threshold": 0.92, "ttl_s": 600},
        {"type": "header_mutation", "set": {"x-route": "guarded", "x-tier": "safe"}, "remove": ["x-debug"]},
        {"type": "system_prompt", "text": "Stay on topic.", "mode": "prepend"},
    ]
    left_out, notes = unmapped(v03), changed(v03)
    plugins = "routing.decisions[2].plugins"
    assert left_out[f"{plugins}[5]"] == "llmswitch has no hallucination plugin yet"
    assert "MiniLM-L6" in left_out[f"{plugins}[2].configuration.embedding_model"]
    assert "blocks (400 content_blocked)" in notes[f"{plugins}[0]"]
    assert "action: redact" in notes[f"{plugins}[1]"]
    assert "prepend" in notes[f"{plugins}[4].configuration.mode"]


def test_the_flat_layouts_prompt_guard_becomes_a_top_level_jailbreak_plugin():
    flat = (DATA / "vsr_flat_ml.yaml").read_text()
    guard = "prompt_guard: {enabled: true, threshold: 0.7, use_modernbert: true, model_id: models/jb}\n"
    policy = "  llama-large: {preferred_endpoints: [ollama], pii_policy: {allow_by_default: false}}\n"
    text = guard + flat.replace("  llama-large: {preferred_endpoints: [ollama]}\n", policy)
    result = import_vsr(text, "flat.yaml")
    assert result.config["plugins"] == [{"type": "jailbreak", "action": "block", "method": "both", "threshold": 0.7}]
    left_out = unmapped(result)
    assert "no model to load" in left_out["prompt_guard.model_id"]
    assert "pii plugin" in left_out["model_config.llama-large.pii_policy"]
    assert "top-level jailbreak plugin" in changed(result)["prompt_guard"]
    off = import_vsr("prompt_guard: {enabled: false}\n" + flat, "flat.yaml")
    assert "plugins" not in off.config and "prompt_guard" not in unmapped(off)


def test_the_model_catalogs_safety_models_are_reported_as_not_needed():
    text = KEYWORD_ONLY + """
global:
  model_catalog:
    modules: {prompt_guard: {model_ref: jailbreak-bert, threshold: 0.7}, domain_classifier: {model_ref: bert}}
    system: {pii_classifier: {model_ref: pii-bert}}
"""
    left_out = unmapped(import_vsr(text))
    assert "no model to load" in left_out["global.model_catalog.modules.prompt_guard"]
    assert "no model to load" in left_out["global.model_catalog.system.pii_classifier"]
    assert left_out["global.model_catalog.modules.domain_classifier"] == "llmswitch has no equivalent"


def test_output_is_valid_and_carries_the_report_as_comments(v03):
    assert parse_config(v03.text).config.model_dump() == v03.loaded.config.model_dump()
    comments = [line for line in v03.text.splitlines() if line.startswith("#")]
    assert "#   routing.decisions[2].plugins[5]: llmswitch has no hallucination plugin yet" in comments
    assert len(comments) == 1 + 2 + len(v03.report.unmapped) + len(v03.report.changed)


def test_envoy_accepts_the_bootstrap_of_a_converted_config(v03, tmp_path):
    path = tmp_path / "envoy.yaml"
    path.write_text(render_envoy_yaml(v03.loaded.config))
    command = [envoy_binary(), "--mode", "validate", "-c", str(path), "--disable-hot-restart"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_flat_layout_of_the_ml_document_loads_its_algorithm_blocks_as_written():
    result = import_vsr((DATA / "vsr_flat_ml.yaml").read_text(), "flat.yaml")
    algorithms = {d["name"]: d["algorithm"] for d in result.config["decisions"]}
    assert algorithms == {
        "math_decision": {"type": "knn", "knn": {"k": 5}},
        "code_decision": {"type": "svm", "svm": {"kernel": "rbf", "gamma": 1.0}},
        "general_decision": {"type": "kmeans", "kmeans": {"num_clusters": 8}},
        "gpu_accelerated_decision": {"type": "mlp", "mlp": {"device": "metal"}},
    }
    assert result.config["model_selection"] == {"ml": {"models_path": ".cache/ml-models"}}
    assert [(m["name"], m["endpoint"]) for m in result.config["models"]] == [
        ("llama-small", "127.0.0.1:11434"),
        ("llama-large", "127.0.0.1:11434"),
        ("mistral", "gpu.internal:8000"),
        ("coder", "gpu.internal:8000"),
    ]
    assert result.config["default_model"] == "llama-small"
    assert list(unmapped(result)) == ["model_config.coder.access_key"]


KEYWORD_ONLY = """
version: v0.3
providers:
  defaults: {default_model: fast}
  models:
    - {name: fast, backend_refs: [{endpoint: "127.0.0.1:9001"}]}
    - {name: strong, backend_refs: [{endpoint: "127.0.0.1:9002"}]}
routing:
  signals:
    keywords:
      - {name: code, operator: OR, keywords: ["python", "stack trace"]}
      - {name: legal, operator: NOR, keywords: ["lawsuit"]}
      - {name: both, operator: AND, keywords: ["urgent", "outage"]}
  decisions:
    - name: code_route
      priority: 100
      rules: {operator: AND, conditions: [{type: keyword, name: code}, {type: keyword, name: legal}]}
      modelRefs: [{model: strong}, {model: fast}]
      algorithm: {type: static}
    - name: incident_route
      priority: 50
      rules: {type: keyword, name: both}
      modelRefs: [{model: strong}]
"""


@pytest.mark.parametrize(
    ("prompt", "decision", "model"),
    [
        ("why does this python code fail", "code_route", "strong"),
        ("python script for my lawsuit", "default", "fast"),  # NOR: a legal word keeps it off code_route
        ("urgent: outage in region 2", "incident_route", "strong"),
        ("urgent question", "default", "fast"),  # AND: both words needed
    ],
)
async def test_converted_rules_route_as_the_source_meant(prompt, decision, model):
    result = import_vsr(KEYWORD_ONLY)
    pipeline = RoutingPipeline(result.loaded)
    body = orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": prompt}]})
    plan = await pipeline.route_async({}, body)
    assert (plan.decision, plan.model.name) == (decision, model)


def test_learned_algorithm_without_models_path_gets_the_default_folder():
    doc = yaml.safe_load(KEYWORD_ONLY)
    doc["routing"]["decisions"][0]["algorithm"] = {"type": "knn"}
    result = import_vsr(yaml.safe_dump(doc))
    assert result.config["model_selection"] == {"ml": {"models_path": "selectors"}}
    assert "no models_path" in changed(result)["global.router.model_selection.ml"]


def test_learned_parameters_are_renamed_or_reported():
    doc = yaml.safe_load(KEYWORD_ONLY)
    doc["routing"]["decisions"][0]["algorithm"] = {"type": "mlp", "mlp": {"hidden_layers": [64, 32], "device": "mps"}}
    doc["routing"]["decisions"][1]["algorithm"] = {"type": "svm", "svm": {"kernel": "poly", "gamma": 0.5}}
    result = import_vsr(yaml.safe_dump(doc))
    mlp, svm = (d["algorithm"] for d in result.config["decisions"])
    assert mlp == {"type": "mlp", "mlp": {"hidden_dims": [64, 32]}}
    assert svm == {"type": "svm", "svm": {"gamma": 0.5}}
    left_out = unmapped(result)
    assert "'mps'" in left_out["routing.decisions[0].algorithm.mlp.device"]
    assert "'poly'" in left_out["routing.decisions[1].algorithm.svm.kernel"]


def test_prompt_algorithm_becomes_the_llm_router():
    doc = yaml.safe_load(KEYWORD_ONLY)
    doc["routing"]["decisions"][0]["algorithm"] = {
        "type": "prompt",
        "prompt": {"model": "fast", "timeout_seconds": 2, "instructions": "pick well"},
    }
    result = import_vsr(yaml.safe_dump(doc))
    assert result.config["decisions"][0]["algorithm"] == {
        "type": "llm",
        "llm": {
            "base_url": "http://127.0.0.1:9001/v1",
            "model": "fast",
            "fallback_model": "strong",
            "timeout_ms": 2000,
        },
    }
    assert "routing.decisions[0].algorithm.prompt.instructions" in unmapped(result)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("providers: {models: []}", "no model could be carried over"),
        ("routing: [1, 2", "not valid YAML"),
        ("- a list", "<root>: expected a mapping"),
    ],
)
def test_unusable_input_is_a_config_error(text, problem):
    with pytest.raises(ConfigError) as err:
        import_vsr(text)
    assert err.value.problems[0].startswith(problem)


def test_token_counts_use_powers_of_ten():
    assert [token_count(v) for v in ("32K", "1.5M", 4000, " 8k ", "lots", "-1")] == [
        32000,
        1500000,
        4000,
        8000,
        None,
        None,
    ]


def test_cli_writes_a_config_that_check_config_accepts(tmp_path, capsys):
    out = tmp_path / "llmswitch.yaml"
    assert main(["import", "vsr", str(DATA / "vsr_v03.yaml"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "2 models, 6 decisions; valid llmswitch config" in err
    assert "  routing.decisions[2].plugins[5]: llmswitch has no hallucination plugin yet" in err
    assert main(["check-config", str(out)]) == 0
    assert main(["import", "vsr", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read file" in capsys.readouterr().err
