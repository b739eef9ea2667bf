"""`global.services.observability` -> llmswitch `telemetry`: Prometheus metrics and OTLP tracing."""

from __future__ import annotations

from typing import Any

from llmswitch.importers.report import ImportReport
from llmswitch.importers.vsr.layout import At


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def convert_telemetry(at: At | None, report: ImportReport) -> dict[str, Any]:
    if at is None:
        return {}
    block, path = _dict(at.value), at.path
    telemetry: dict[str, Any] = {}
    metrics = _dict(block.get("metrics"))
    if isinstance(metrics.get("enabled"), bool):
        telemetry["metrics"] = {"enabled": metrics["enabled"]}
    report.extra_keys(metrics, f"{path}.metrics", ("enabled",))
    tracing = _dict(block.get("tracing"))
    if tracing:
        telemetry["tracing"] = _tracing(tracing, f"{path}.tracing", report)
    report.extra_keys(block, path, ("metrics", "tracing"))
    return telemetry


def _tracing(tracing: dict, path: str, report: ImportReport) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(tracing.get("enabled"), bool):
        out["enabled"] = tracing["enabled"]
    if tracing.get("provider", "opentelemetry") != "opentelemetry":
        report.not_mapped(f"{path}.provider", "llmswitch traces with OpenTelemetry")
    exporter = _dict(tracing.get("exporter"))
    if exporter.get("type", "otlp") != "otlp":
        report.not_mapped(f"{path}.exporter.type", "llmswitch exports OTLP over gRPC")
    elif exporter.get("endpoint"):
        out["endpoint"] = str(exporter["endpoint"])
    if exporter.get("insecure") is False:
        report.not_mapped(f"{path}.exporter.insecure", "llmswitch reaches the collector without TLS")
    report.extra_keys(exporter, f"{path}.exporter", ("type", "endpoint", "insecure"))
    sampling = _dict(tracing.get("sampling"))
    if sampling.get("type") == "always_on":
        out["sampling_ratio"] = 1.0
    elif sampling.get("type") == "probabilistic" and isinstance(sampling.get("rate"), int | float):
        out["sampling_ratio"] = sampling["rate"]
    elif sampling:
        report.not_mapped(f"{path}.sampling", "llmswitch samples a parent-based ratio (probabilistic or always_on)")
    resource = _dict(tracing.get("resource"))
    if resource.get("service_name"):
        out["service_name"] = str(resource["service_name"])
    report.extra_keys(resource, f"{path}.resource", ("service_name",))
    report.extra_keys(tracing, path, ("enabled", "provider", "exporter", "sampling", "resource"))
    return out
