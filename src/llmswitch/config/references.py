"""Cross-reference checks of a whole config: duplicate names and names that do not resolve, with YAML paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmswitch.config.algorithms import ARTIFACT_FILES, artifact_params
from llmswitch.config.decisions import Condition, RuleNode
from llmswitch.config.plugins import ReasoningPlugin, plugin_problems
from llmswitch.config.signals import SIGNAL_SECTIONS

if TYPE_CHECKING:
    from llmswitch.config.schema import Config

RESERVED_DECISIONS = frozenset({"default", "passthrough"})


def _duplicates(names: list[str]) -> list[int]:
    seen: set[str] = set()
    repeated = []
    for index, name in enumerate(names):
        if name in seen:
            repeated.append(index)
        seen.add(name)
    return repeated


def conditions_of(node: RuleNode | Condition, path: str):
    if isinstance(node, Condition):
        yield path, node
        return
    for index, child in enumerate(node.conditions):
        yield from conditions_of(child, f"{path}.conditions[{index}]")


def reference_problems(config: Config):
    """Yield "path: message" for every name that is duplicated or does not resolve."""
    model_names = [m.name for m in config.models]
    for index in _duplicates(model_names):
        yield f"models[{index}].name: duplicate model {model_names[index]!r}"
    for index in _duplicates([d.name for d in config.decisions]):
        yield f"decisions[{index}].name: duplicate decision {config.decisions[index].name!r}"
    for section in SIGNAL_SECTIONS.values():
        signals = getattr(config.signals, section)
        for index in _duplicates([s.name for s in signals]):
            yield f"signals.{section}[{index}].name: duplicate signal {signals[index].name!r}"
    known_models = set(model_names)
    if config.default_model not in known_models:
        yield f"default_model: unknown model {config.default_model!r}"
    for index, fallback in enumerate(config.routing.fallback_models):
        if fallback not in known_models:
            yield f"routing.fallback_models[{index}]: unknown model {fallback!r}"
    downgrade = config.budget.downgrade_model
    if downgrade is not None and downgrade not in known_models:
        yield f"budget.downgrade_model: unknown model {downgrade!r}"
    for index, auto in enumerate(config.routing.auto_models):
        if auto in known_models:
            yield f"routing.auto_models[{index}]: {auto!r} is also a model name"
    if isinstance(config.router.workers, int) and config.router.workers > 1 and config.budget_in_memory():
        yield (
            "router.workers: budget limits kept in memory are per process, so each worker would allow the whole "
            "amount: use budget.store.type redis to share spend, or one worker (auto picks one)"
        )
    daily_limit = any(limit.scope == "daily" for limit in config.budget.limits)
    cluster_header = config.routing.cluster_header
    yield from plugin_problems(config.plugins, "plugins", cluster_header)
    if not config.accounting.enabled and config.cache_settings():
        yield "accounting.enabled: must be true while the response cache is on (the response observer stores its answers)"
    families = {m.name: m.reasoning_family for m in config.models}
    for d_index, decision in enumerate(config.decisions):
        path = f"decisions[{d_index}]"
        if decision.algorithm.type == "budget" and not daily_limit:
            yield f"{path}.algorithm: the budget algorithm reads daily spend: add a daily scope to budget.limits"
        if decision.name in RESERVED_DECISIONS:
            yield f"{path}.name: {decision.name!r} is reserved"
        learned = artifact_params(decision.algorithm, f"{path}.algorithm")
        if learned and learned[2] is None and config.model_selection.ml.models_path is None:
            params_path, kind, _ = learned
            yield (
                f"{params_path}: no trained file given: set {kind}.artifact, or model_selection.ml.models_path "
                f"to read <models_path>/{decision.name}/{ARTIFACT_FILES[kind]}"
            )
        for r_index, ref in enumerate(decision.model_refs):
            if ref.model not in known_models:
                yield f"{path}.modelRefs[{r_index}].model: unknown model {ref.model!r}"
        yield from plugin_problems(decision.plugins, f"{path}.plugins", cluster_header)
        for p_index, plugin in enumerate(decision.plugins):
            if isinstance(plugin, ReasoningPlugin) and not any(families.get(r.model) for r in decision.model_refs):
                yield f"{path}.plugins[{p_index}]: no modelRef of this decision sets models[].reasoning_family"
        for cond_path, condition in conditions_of(decision.rules, f"{path}.rules"):
            section = SIGNAL_SECTIONS[condition.type]
            if condition.name not in {s.name for s in getattr(config.signals, section)}:
                yield f"{cond_path}.name: no {condition.type} signal named {condition.name!r} in signals.{section}"
            elif condition.type == "classifier":
                yield from _label_problems(config, cond_path, condition)


def _label_problems(config: Config, cond_path: str, condition: Condition):
    index, spec = next((i, s) for i, s in enumerate(config.signals.classifiers) if s.name == condition.name)
    try:
        labels = spec.labels()
    except (OSError, ValueError) as exc:
        yield f"signals.classifiers[{index}].model_dir: no classifier in {spec.model_dir!r} ({exc})"
        return
    if condition.label not in labels:
        yield f"{cond_path}.label: classifier {spec.name!r} has no label {condition.label!r} (labels: {', '.join(labels)})"
