"""deploy/examples/vllm: the vLLM objects and the chart values validate, and the models point at those servers."""

import yaml

from llmswitch.config import parse_config
from tests.helm import envoy, kube
from tests.helm.chart import ROOT, envoy_config_text, lint, render, router_config_text

EXAMPLE = ROOT / "deploy" / "examples" / "vllm"
VALUES = yaml.safe_load((EXAMPLE / "values.yaml").read_text())
VLLM = [doc for doc in yaml.safe_load_all((EXAMPLE / "vllm.yaml").read_text()) if doc]


def served_models() -> dict[str, str]:
    """Service host:port -> the model name its vLLM serves."""
    services = {o["metadata"]["name"]: o for o in VLLM if o["kind"] == "Service"}
    served = {}
    for deployment in (o for o in VLLM if o["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        args = dict(arg.removeprefix("--").split("=", 1) for arg in container["args"])
        service = services[deployment["metadata"]["name"]]
        assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert service["spec"]["ports"][0]["port"] == int(args["port"])
        served[f"{service['metadata']['name']}:{args['port']}"] = args["served-model-name"]
    return served


def test_vllm_objects_match_the_kubernetes_schema():
    assert sorted(o["kind"] for o in VLLM) == ["Deployment", "Deployment", "Service", "Service"]
    for obj in VLLM:
        kube.validate(obj)


def test_chart_with_the_example_values_lints_and_validates(tmp_path):
    report = lint(VALUES)
    assert [m for m in report["messages"] if m["severity"] >= 2] + report["errors"] == []
    objects = render(VALUES)
    for obj in objects:
        kube.validate(obj)
    result = envoy.validate(envoy_config_text(objects), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_model_is_served_by_one_of_the_vllm_servers():
    config = parse_config(router_config_text(render(VALUES))).config
    served = served_models()
    assert {m.endpoint: m.body_model for m in config.models} == served
    assert {ref.model for d in config.decisions for ref in d.model_refs} | {config.default_model} == {"small", "large"}
