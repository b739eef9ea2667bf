"""The chart renders, lints and validates for every value set, and each value does what the README says."""

import pytest
import yaml

from tests.helm import kube
from tests.helm.chart import (
    CHART,
    VALUE_SETS,
    config_map,
    helm,
    kinds,
    lint,
    render,
    render_manifests,
    router_config_text,
)

ALL_VALUE_SETS = pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())


def containers(objects: list[dict]) -> dict[str, dict]:
    spec = kinds(objects)["Deployment"]["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def pod_annotations(objects: list[dict]) -> dict:
    return kinds(objects)["Deployment"]["spec"]["template"]["metadata"].get("annotations", {})


def service_ports(objects: list[dict]) -> dict[str, int]:
    return {p["name"]: p["port"] for p in kinds(objects)["Service"]["spec"]["ports"]}


@ALL_VALUE_SETS
def test_lint_passes_strictly(values):
    report = lint(values)
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert problems == []


@ALL_VALUE_SETS
def test_every_object_matches_the_kubernetes_schema(values):
    objects = render(values)
    for obj in objects:
        kube.validate(obj)
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"} <= set(kinds(objects))


@ALL_VALUE_SETS
def test_pods_run_locked_down(values):
    objects = render(values)
    pod = kinds(objects)["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsUser"] > 0
        assert "limits" in container["resources"] and "requests" in container["resources"]


@ALL_VALUE_SETS
def test_service_targets_named_container_ports(values):
    objects = render(values)
    named = {p["name"]: p["containerPort"] for c in containers(objects).values() for p in c["ports"]}
    for port in kinds(objects)["Service"]["spec"]["ports"]:
        assert named[port["targetPort"]] == port["port"]


def test_defaults_run_router_and_envoy_with_their_probes():
    objects = render()
    router, envoy = containers(objects)["router"], containers(objects)["envoy"]
    assert router["command"] == ["llmswitch", "serve", "--config", "/etc/llmswitch/config.yaml"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert router[probe]["grpc"] == {"port": 50051}
    assert envoy["image"] == "envoyproxy/envoy:v1.40-latest"
    assert envoy["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "envoy-probe"}
    assert {p["name"]: p["containerPort"] for p in envoy["ports"]} == {"http": 8080, "envoy-probe": 9902}
    assert service_ports(objects) == {"http": 8080, "grpc": 50051, "metrics": 9090}
    assert set(pod_annotations(objects)) == {"checksum/router-config", "checksum/envoy-config"}
    assert "HorizontalPodAutoscaler" not in kinds(objects) and "ServiceMonitor" not in kinds(objects)
    assert kinds(objects)["Deployment"]["spec"]["replicas"] == 2


def test_config_is_mounted_as_a_directory_so_updates_reach_the_router():
    mounts = {m["name"]: m for m in containers(render())["router"]["volumeMounts"]}
    assert mounts["config"] == {"name": "config", "mountPath": "/etc/llmswitch", "readOnly": True}


def test_sidecar_off_runs_only_the_router():
    objects = render(VALUE_SETS["sidecar_off"])
    assert set(containers(objects)) == {"router"}
    assert config_map(objects, "-envoy") is None
    assert service_ports(objects) == {"grpc": 50051, "metrics": 9090}
    assert set(pod_annotations(objects)) == {"checksum/router-config"}


def test_hpa_replaces_the_fixed_replica_count():
    objects = render(VALUE_SETS["hpa_on"])
    hpa = kinds(objects)["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo-llmswitch"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert "replicas" not in kinds(objects)["Deployment"]["spec"]


def test_service_monitor_scrapes_every_worker_through_the_service():
    values = {**VALUE_SETS["service_monitor_on"], "config": {"router": {"workers": 2}}}
    objects = render(values)
    monitor, service = kinds(objects)["ServiceMonitor"], kinds(objects)["Service"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics", "metrics-1"]
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
    assert service_ports(objects)["metrics-1"] == 9091


def test_service_monitor_needs_metrics():
    values = {**VALUE_SETS["service_monitor_on"], "config": {"telemetry": {"metrics": {"enabled": False}}}}
    with pytest.raises(helm.HelmRenderError, match="config.telemetry.metrics.enabled"):
        render(values)


def test_hot_reload_drops_only_the_router_checksum():
    assert set(pod_annotations(render(VALUE_SETS["hot_reload_on"]))) == {"checksum/envoy-config"}


def test_hot_reload_needs_the_router_to_watch_its_file():
    with pytest.raises(helm.HelmRenderError, match="config.reload.watch"):
        render({"hotReload": {"enabled": True}, "config": {"reload": {"watch": False}}})


def test_checksums_roll_pods_only_for_the_config_that_changed():
    base = pod_annotations(render())
    decision = {"name": "big", "rules": {"type": "context", "name": "long"}, "modelRefs": [{"model": "large-model"}]}
    new_decision = pod_annotations(
        render({"config": {"signals": {"context": [{"name": "long", "min_tokens": 10}]}, "decisions": [decision]}})
    )
    assert new_decision["checksum/router-config"] != base["checksum/router-config"]
    assert new_decision["checksum/envoy-config"] == base["checksum/envoy-config"]
    new_timeout = pod_annotations(render({"config": {"routing": {"message_timeout_ms": 2000}}}))
    assert new_timeout["checksum/router-config"] != base["checksum/router-config"]
    assert new_timeout["checksum/envoy-config"] != base["checksum/envoy-config"]


def test_model_artifacts_volume_and_worker_ports():
    objects = render(VALUE_SETS["model_volume_and_workers"])
    router = containers(objects)["router"]
    pod = kinds(objects)["Deployment"]["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "model-artifacts")
    assert volume["persistentVolumeClaim"] == {"claimName": "llmswitch-models"}
    mount = next(m for m in router["volumeMounts"] if m["name"] == "model-artifacts")
    assert mount == {"name": "model-artifacts", "mountPath": "/var/lib/llmswitch/models", "readOnly": True}
    assert {"name": "LLMSWITCH_MODEL_DIR", "value": "/var/lib/llmswitch/models"} in router["env"]
    ports = {p["name"]: p["containerPort"] for p in router["ports"]}
    assert ports == {
        **{"grpc": 50051, "grpc-1": 50052, "grpc-2": 50053},
        **{"metrics": 9090, "metrics-1": 9091, "metrics-2": 9092},
    }


BAD_VALUES = [
    {"replicaCount": "two"},
    {"config": {"listener": {"probe_port": 70000}}},
    {"envoy": {"probePort": 9902}},  # replaced by config.listener.probe_port
    {"config": {"models": []}},
    {"config": {"routing": {"request_timeout_s": -1}}},
    {"unknownKey": True},
]
# Durations of 1e6 s and more are written in fixed point ("1000000s"), which Envoy accepts.
GOOD_VALUES = [
    {"config": {"routing": {"request_timeout_s": 1e6}}},
    {"config": {"routing": {"retries": {"per_try_timeout_s": 2592000}}}},
    {"config": {"routing": {"outlier_detection": {"interval_s": 1e6, "base_ejection_time_s": 1e7}}}},
]


def test_values_schema_rejects_bad_values():
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(chart.values)
        for bad in BAD_VALUES:
            with pytest.raises(helm.HelmValuesError):
                chart.validate_schema(chart.merge_values(bad))


def test_probe_port_cannot_be_unset():
    # null removes the key; the Envoy container's probes and the envoy_probe listener need it.
    with pytest.raises(helm.HelmValuesError, match="probe_port"):
        render({"config": {"listener": {"probe_port": None}}})


def test_values_schema_accepts_long_durations():
    with helm.Chart.load(CHART) as chart:
        for good in GOOD_VALUES:
            chart.validate_schema(chart.merge_values(good))


def test_notes_tell_how_to_send_a_request():
    notes = render_manifests()["llmswitch/templates/NOTES.txt"]
    assert "curl -s http://127.0.0.1:8080/v1/chat/completions" in notes
    assert '"model": "auto"' in notes
    assert "demo-llmswitch.llm.svc:8080" in notes



def test_envoy_config_is_written_at_pod_start_by_the_router_image():
    objects = render()
    spec = kinds(objects)["Deployment"]["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    assert init["image"] == containers(objects)["router"]["image"]
    assert init["command"][:2] == ["llmswitch", "envoy-config"]
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    envoy_mounts = {m["name"]: m for m in containers(objects)["envoy"]["volumeMounts"]}
    assert mounts == {"config": "/etc/llmswitch", "envoy-config": "/etc/envoy"}
    assert envoy_mounts["envoy-config"] == {"name": "envoy-config", "mountPath": "/etc/envoy", "readOnly": True}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["envoy-config"]
    assert "initContainers" not in kinds(render(VALUE_SETS["sidecar_off"]))["Deployment"]["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("resources", "workers"),
    [
        ({"requests": {"cpu": "500m"}}, 1),  # the chart's default: no CPU limit, half a CPU requested
        ({"requests": {"cpu": "500m"}, "limits": {"cpu": "2500m"}}, 2),
        ({"limits": {"cpu": 3}}, 3),
        ({"limits": {"cpu": "1.5"}}, 1),
        ({}, 1),
    ],
)
def test_workers_auto_is_resolved_from_the_router_cpu(resources, workers):
    objects = render({"resources": resources or {"requests": None, "limits": None}})
    assert yaml.safe_load(router_config_text(objects))["router"]["workers"] == workers
    ports = {p["name"]: p["containerPort"] for p in containers(objects)["router"]["ports"]}
    grpc = sorted(port for name, port in ports.items() if name.startswith("grpc"))
    assert grpc == [50051 + i for i in range(workers)]


def test_workers_auto_is_one_when_budgets_live_in_memory():
    budget = {"limits": [{"scope": "global", "amount": 5}]}
    objects = render({"resources": {"limits": {"cpu": 4}}, "config": {"budget": budget}})
    assert yaml.safe_load(router_config_text(objects))["router"]["workers"] == 1
    shared = {**budget, "store": {"type": "redis", "url": "redis://redis:6379/0"}}
    objects = render({"resources": {"limits": {"cpu": 4}}, "config": {"budget": shared}})
    assert yaml.safe_load(router_config_text(objects))["router"]["workers"] == 4
