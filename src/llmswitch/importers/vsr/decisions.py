"""Decisions: rule trees, modelRefs, algorithm and plugins.

A decision is carried over whole or not at all: when one of its conditions tests a signal
llmswitch cannot evaluate, dropping just that condition would change which requests match
(narrowing an OR, widening an AND, inverting under NOT), so the decision is left out and the
condition's path reported.
"""

from __future__ import annotations

from typing import Any

from llmswitch.config.references import RESERVED_DECISIONS
from llmswitch.importers.report import ImportReport, Names
from llmswitch.importers.vsr.algorithms import AlgorithmContext, convert_algorithm
from llmswitch.importers.vsr.layout import At
from llmswitch.importers.vsr.plugins import convert_plugins
from llmswitch.importers.vsr.signals import SignalCatalog, SignalRef


class Skip(Exception):
    """A decision that cannot be carried over; the message says why, at which path."""


REF_REASONS = {
    "use_reasoning": "llmswitch does not switch reasoning modes per model (yet)",
    "reasoning_effort": "llmswitch does not set reasoning effort (yet)",
    "reasoning_mode": "llmswitch does not switch reasoning modes per model (yet)",
    "lora_name": "llmswitch has no LoRA adapters",
}
DECISION_REASONS = {
    "action": "llmswitch has no route actions",
    "emits": "llmswitch has no retention directives",
    "adaptations": "llmswitch does not adapt routing from feedback",
}


def convert_decisions(at: At | None, signals: SignalCatalog, ctx: AlgorithmContext) -> list[dict]:
    report = ctx.report
    decisions = []
    names = Names(report, RESERVED_DECISIONS)
    entries = at.value if at and isinstance(at.value, list) else []
    for index, entry in enumerate(entries):
        path = f"{at.path}[{index}]"
        if not isinstance(entry, dict) or "name" not in entry:
            report.not_mapped(path, "a decision needs a name")
            continue
        try:
            decision = _decision(entry, path, signals, ctx)
        except Skip as skip:
            report.not_mapped(path, f"decision {entry['name']!r} not carried: {skip}")
            continue
        name = names.add(entry["name"], f"{path}.name")
        if name is not None:
            decisions.append({"name": name, **decision})
    return decisions


def _decision(entry: dict, path: str, signals: SignalCatalog, ctx: AlgorithmContext) -> dict:
    if "rules" not in entry:
        raise Skip("it has no rules")
    rules = _rule(entry["rules"], f"{path}.rules", signals, ctx.report)
    refs = _model_refs(entry.get("modelRefs"), f"{path}.modelRefs", ctx)
    decision: dict[str, Any] = {}
    if entry.get("description"):
        decision["description"] = str(entry["description"])
    if isinstance(entry.get("priority"), int):
        decision["priority"] = entry["priority"]
    decision["rules"] = rules
    decision["modelRefs"] = refs
    algorithm = convert_algorithm(entry.get("algorithm"), f"{path}.algorithm", refs, ctx)
    if algorithm["type"] != "static":
        decision["algorithm"] = algorithm
    plugins = convert_plugins(entry.get("plugins"), f"{path}.plugins", ctx.report)
    if plugins:
        decision["plugins"] = plugins
    handled = ("name", "description", "priority", "rules", "modelRefs", "algorithm", "plugins")
    ctx.report.extra_keys(entry, path, handled, DECISION_REASONS)
    return decision


def _rule(node: Any, path: str, signals: SignalCatalog, report: ImportReport) -> dict:
    """The llmswitch rule tree for a source node; raises Skip when a leaf cannot be mapped."""
    if not isinstance(node, dict):
        raise Skip(f"{path}: expected a rule or a condition")
    if "operator" not in node:
        return _condition(node, path, signals, report)
    operator = str(node["operator"]).upper()
    children = node.get("conditions") or []
    if operator not in ("AND", "OR", "NOT"):
        raise Skip(f"{path}.operator: {node['operator']!r}, expected AND, OR or NOT")
    if not children:
        raise Skip(f"{path}.conditions: empty")
    if operator == "NOT" and len(children) != 1:
        raise Skip(f"{path}: NOT over {len(children)} conditions; llmswitch's NOT takes exactly one")
    report.extra_keys(
        node,
        path,
        ("operator", "conditions"),
        {"on_unknown": "llmswitch treats a signal it cannot evaluate as not matched"},
    )
    return {
        "operator": operator,
        "conditions": [_rule(child, f"{path}.conditions[{i}]", signals, report) for i, child in enumerate(children)],
    }


def _condition(node: dict, path: str, signals: SignalCatalog, report: ImportReport) -> dict:
    if "type" not in node or "name" not in node:
        raise Skip(f"{path}: a condition needs type and name")
    for key in ("predicate", "label"):
        if key in node:
            raise Skip(f"{path}.{key}: llmswitch conditions test whether a signal matched")
    ref = signals.resolve(str(node["type"]), str(node["name"]))
    if isinstance(ref, str):
        raise Skip(f"{path} {ref}")
    report.extra_keys(node, path, ("type", "name"))
    return _leaf(ref)


def _leaf(ref: SignalRef) -> dict:
    leaf = {"type": ref.type, "name": ref.name}
    return {"operator": "NOT", "conditions": [leaf]} if ref.negate else leaf


def _model_refs(refs: Any, path: str, ctx: AlgorithmContext) -> list[dict]:
    out = []
    for index, ref in enumerate(refs if isinstance(refs, list) else []):
        ref_path = f"{path}[{index}]"
        if not isinstance(ref, dict) or "model" not in ref:
            ctx.report.not_mapped(ref_path, "a modelRef needs a model")
            continue
        model = ctx.model_names.get(str(ref["model"]))
        if model is None or model not in ctx.models:
            ctx.report.not_mapped(ref_path, f"model {ref['model']!r} was not carried over")
            continue
        entry: dict[str, Any] = {"model": model}
        if isinstance(ref.get("weight"), int | float) and ref["weight"] > 0 and ref["weight"] != 1:
            entry["weight"] = ref["weight"]
        ctx.report.extra_keys(ref, ref_path, ("model", "weight", "reasoning_description"), REF_REASONS)
        out.append(entry)
    if not out:
        raise Skip(f"{path}: none of its models was carried over")
    return out
