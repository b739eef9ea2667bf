"""deploy/kubernetes: valid objects, consistent ports and names, and an envoy.yaml that is current."""

import yaml

from llmswitch.config import load_config
from llmswitch.envoy_config import render_envoy_yaml
from tests.helm import envoy, kube
from tests.helm.chart import ROOT, envoy_config_text, render

BASE = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = yaml.safe_load((BASE / "kustomization.yaml").read_text())


def resources() -> dict[str, dict]:
    objects = [yaml.safe_load((BASE / name).read_text()) for name in KUSTOMIZATION["resources"]]
    return {o["kind"]: o for o in objects}


def test_every_resource_matches_the_kubernetes_schema():
    for obj in resources().values():
        kube.validate(obj)
    for generator in KUSTOMIZATION["configMapGenerator"]:
        assert all((BASE / name).is_file() for name in generator["files"])


def test_envoy_yaml_is_current_and_equals_the_charts():
    text = (BASE / "envoy.yaml").read_text()
    assert text == render_envoy_yaml(load_config(BASE / "config.yaml").config), (
        "deploy/kubernetes/envoy.yaml is stale: run "
        "`llmswitch envoy-config --config deploy/kubernetes/config.yaml > deploy/kubernetes/envoy.yaml`"
    )
    chart = render({"config": yaml.safe_load((BASE / "config.yaml").read_text())})
    assert yaml.safe_load(text) == yaml.safe_load(envoy_config_text(chart))


def test_envoy_validates_envoy_yaml(tmp_path):
    result = envoy.validate((BASE / "envoy.yaml").read_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ports_and_config_maps_follow_the_configs():
    config = load_config(BASE / "config.yaml").config
    pod = resources()["Deployment"]["spec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for c in pod["containers"] for p in c["ports"]}
    assert ports == {
        "grpc": config.router.port,
        "metrics": config.telemetry.metrics.port,
        "http": config.listener.port,
        "envoy-probe": config.listener.probe_port,
    }
    for port in resources()["Service"]["spec"]["ports"]:
        assert ports[port["targetPort"]] == port["port"]
    generated = {g["name"] for g in KUSTOMIZATION["configMapGenerator"]}
    assert {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v} == generated
    assert config.router.workers == 1  # one grpc and one metrics port above
