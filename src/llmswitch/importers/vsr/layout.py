"""Where a vLLM Semantic Router config keeps each section, in its current layout and the flat one before it.

The current layout (`version: v0.3`) has `listeners`, `providers`, `routing` and `global`; the
flat layout (used by its ML model-selection document) has `signals`, `decisions`,
`model_selection`, `vllm_endpoints` and `model_config` at the top. Each section is returned with
its YAML path in the source, so every report names the line the user wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmswitch.importers.report import ImportReport

MIGRATE_FIRST = "an older layout: convert it with `vllm-sr config migrate` first"


@dataclass(frozen=True)
class At:
    value: Any
    path: str


@dataclass
class Sections:
    listeners: At | None = None
    models: At | None = None
    """providers.models[]"""
    defaults: At | None = None
    """providers.defaults"""
    legacy_endpoints: At | None = None
    """vllm_endpoints[] (flat layout)"""
    legacy_models: At | None = None
    """model_config{} (flat layout)"""
    legacy_default: At | None = None
    """default_model (flat layout)"""
    model_cards: At | None = None
    signals: At | None = None
    decisions: At | None = None
    ml: At | None = None
    """model_selection.ml (or a flat model_selection block)"""
    router: At | None = None
    """global.router"""
    observability: At | None = None
    """global.services.observability"""
    prompt_guard: At | None = None
    """prompt_guard (flat layout): router-wide jailbreak blocking"""


def _mapping(value: Any, path: str, report: ImportReport) -> dict:
    if isinstance(value, dict):
        return value
    if value is not None:
        report.not_mapped(path, f"expected a mapping, got {type(value).__name__}")
    return {}


def locate(doc: dict, report: ImportReport) -> Sections:
    """The sections llmswitch can use; every other top-level, providers, routing or global key is reported."""
    found = Sections()
    version = doc.get("version")
    if version is not None and str(version) != "v0.3":
        report.change("version", f"{version!r}: read as the v0.3 layout (the current one this importer knows)")
    if "listeners" in doc:
        found.listeners = At(doc["listeners"], "listeners")
    providers = _mapping(doc.get("providers"), "providers", report)
    if "models" in providers:
        found.models = At(providers["models"], "providers.models")
    if "defaults" in providers:
        found.defaults = At(_mapping(providers["defaults"], "providers.defaults", report), "providers.defaults")
    report.extra_keys(providers, "providers", ("models", "defaults"))
    _routing(_mapping(doc.get("routing"), "routing", report), "routing", found, report)
    _global(_mapping(doc.get("global"), "global", report), found, report)
    _flat(doc, found, report)
    handled = {"version", "listeners", "providers", "routing", "global", *FLAT_KEYS}
    report.extra_keys(doc, "", handled, {k: MIGRATE_FIRST for k in OLDER_KEYS})
    return found


def _routing(routing: dict, path: str, found: Sections, report: ImportReport) -> None:
    for key, field in (("modelCards", "model_cards"), ("signals", "signals"), ("decisions", "decisions")):
        if key in routing:
            setattr(found, field, At(routing[key], f"{path}.{key}"))
    strategy = routing.get("strategy", "priority")
    handled = ["modelCards", "signals", "decisions"]
    if strategy == "priority":  # llmswitch tries decisions by priority too
        handled.append("strategy")
    reasons = {
        "strategy": f"strategy {strategy!r}: llmswitch picks the highest-priority matching decision",
        "projections": "llmswitch has no projections (partitions, scores, mappings)",
    }
    report.extra_keys(routing, path, handled, reasons)


def _global(section: dict, found: Sections, report: ImportReport) -> None:
    router = _mapping(section.get("router"), "global.router", report)
    found.router = At(router, "global.router")
    selection = _mapping(router.get("model_selection"), "global.router.model_selection", report)
    if "ml" in selection:
        found.ml = At(
            _mapping(selection["ml"], "global.router.model_selection.ml", report), "global.router.model_selection.ml"
        )
    report.extra_keys(selection, "global.router.model_selection", ("ml", "enabled"))
    handled = ["model_selection", "auto_model_name", "auto_model_names"]
    if router.get("config_source", "file") == "file":  # llmswitch reads its config from a file too
        handled.append("config_source")
    if router.get("strategy", "priority") == "priority":
        handled.append("strategy")
    report.extra_keys(router, "global.router", handled)
    services = _mapping(section.get("services"), "global.services", report)
    if "observability" in services:
        found.observability = At(services["observability"], "global.services.observability")
    for key, value in section.items():
        if key == "router":
            continue
        if key == "model_catalog" and isinstance(value, dict):
            _model_catalog(value, report)
        elif isinstance(value, dict):  # one line per service, store, integration, ...
            report.extra_keys(value, f"global.{key}", ("observability",) if key == "services" else ())
        elif not _is_empty(value):
            report.not_mapped(f"global.{key}", "llmswitch has no equivalent")


def _model_catalog(catalog: dict, report: ImportReport) -> None:
    """One line per model the source loads; its jailbreak and PII models with why none is needed."""
    from llmswitch.importers.vsr.safety import SAFETY_MODELS, safety_model  # it reads At from here

    for group in ("modules", "system"):
        block = catalog.get(group)
        if isinstance(block, dict):
            reasons = {key: SAFETY_MODELS for key in block if safety_model(key)}
            report.extra_keys(block, f"global.model_catalog.{group}", (), reasons)
    report.extra_keys(catalog, "global.model_catalog", ("modules", "system"))


def _is_empty(value: Any) -> bool:
    return value in (None, [], {}, "")


# The flat layout's keys with the same meaning as the current layout's.
FLAT_KEYS = (
    "signals",
    "decisions",
    "model_selection",
    "default_model",
    "vllm_endpoints",
    "model_config",
    "strategy",
    "prompt_guard",
)
# Keys of the layout before signals and decisions existed.
OLDER_KEYS = ("keyword_rules", "categories", "classifier", "embedding_rules", "default_reasoning_effort")


def _flat(doc: dict, found: Sections, report: ImportReport) -> None:
    for key, field in (("signals", "signals"), ("decisions", "decisions")):
        if key in doc and getattr(found, field) is None:
            setattr(found, field, At(doc[key], key))
    if "vllm_endpoints" in doc:
        found.legacy_endpoints = At(doc["vllm_endpoints"], "vllm_endpoints")
    if "model_config" in doc:
        found.legacy_models = At(doc["model_config"], "model_config")
    if "default_model" in doc:
        found.legacy_default = At(doc["default_model"], "default_model")
    if "prompt_guard" in doc:
        found.prompt_guard = At(doc["prompt_guard"], "prompt_guard")
    if doc.get("strategy", "priority") != "priority":
        report.not_mapped("strategy", "llmswitch picks the highest-priority matching decision")
    selection = _mapping(doc.get("model_selection"), "model_selection", report)
    if selection and found.ml is None:
        if "ml" in selection:  # model_selection: {enabled, ml: {models_path, ...}}
            found.ml = At(_mapping(selection["ml"], "model_selection.ml", report), "model_selection.ml")
            report.extra_keys(selection, "model_selection", ("ml", "enabled"))
        else:  # model_selection: {enabled, models_path, ...}
            found.ml = At(selection, "model_selection")
