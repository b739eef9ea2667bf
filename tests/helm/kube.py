"""Validates objects against the Kubernetes OpenAPI schemas bundled with kubernetes-validate (offline)."""

from __future__ import annotations

import pytest

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install kubernetes-validate)"
)

# The oldest Kubernetes the manifests target (gRPC probes, preStop sleep) and the newest bundled schema.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())

# Custom resources have no bundled schema; tests check their fields directly.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("inference.networking.k8s.io/v1", "InferencePool"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}


def validate(obj: dict) -> None:
    """Raise kubernetes_validate's ValidationError if obj breaks any targeted version's strict schema."""
    if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
        return
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)
