"""Renders and lints the chart with the Helm v4 SDK (helm-python-sdk), offline."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed (pip install helm-python-sdk)")

ROOT = Path(__file__).parents[2]
CHART = ROOT / "helm" / "llmswitch"
CHART_VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
RELEASE = "demo"
NAMESPACE = "llm"

# Value sets the chart must render, lint and validate with.
VALUE_SETS: dict[str, dict] = {
    "defaults": {},
    "sidecar_off": {"envoy": {"enabled": False}},
    "hpa_on": {"autoscaling": {"enabled": True}},
    "service_monitor_on": {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}}},
    "hot_reload_on": {"hotReload": {"enabled": True}},
    "model_volume_and_workers": {
        "modelArtifacts": {"volume": {"persistentVolumeClaim": {"claimName": "llmswitch-models"}}},
        "config": {"router": {"workers": 3}},
    },
}


def render_manifests(values: dict | None = None) -> dict[str, str]:
    """Template path -> rendered text, NOTES.txt included."""
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE)


def render(values: dict | None = None) -> list[dict]:
    """Every Kubernetes object the chart renders for these values."""
    objects = []
    for path, text in sorted(render_manifests(values).items()):
        if path.endswith(".yaml"):
            objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def lint(values: dict | None = None) -> dict:
    return helm.lint(CHART, values, strict=True, namespace=NAMESPACE)


def kinds(objects: list[dict]) -> dict[str, dict]:
    """Objects by kind; the chart renders at most one object of each kind except ConfigMaps."""
    return {o["kind"]: o for o in objects if o["kind"] != "ConfigMap"}


def config_map(objects: list[dict], suffix: str) -> dict | None:
    return next((o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith(suffix)), None)


def router_config_text(objects: list[dict]) -> str:
    return config_map(objects, "-config")["data"]["config.yaml"]


def envoy_init_container(objects: list[dict]) -> dict | None:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    init = deployment["spec"]["template"]["spec"].get("initContainers", [])
    return next((c for c in init if c["name"] == "envoy-config"), None)


def envoy_config_text(objects: list[dict]) -> str:
    """The Envoy bootstrap the pod's init container writes: its own command, run on the router ConfigMap."""
    command = envoy_init_container(objects)["command"]
    assert command[:2] == ["llmswitch", "envoy-config"], command
    with tempfile.TemporaryDirectory() as folder:
        paths = {"/etc/llmswitch/config.yaml": Path(folder) / "config.yaml", "/etc/envoy/envoy.yaml": Path(folder) / "envoy.yaml"}
        paths["/etc/llmswitch/config.yaml"].write_text(router_config_text(objects))
        argv = [sys.executable, "-m", "llmswitch.cli", *(str(paths.get(a, a)) for a in command[1:])]
        subprocess.run(argv, check=True, capture_output=True)
        return paths["/etc/envoy/envoy.yaml"].read_text()
