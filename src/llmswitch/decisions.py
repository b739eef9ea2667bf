"""Decision rules: AND / OR / NOT trees over signal results, highest priority first."""

from __future__ import annotations

from collections.abc import Sequence

from llmswitch.config.schema import Condition, Decision, RuleNode
from llmswitch.signals import SignalEvaluation


def rule_matches(node: RuleNode | Condition, signals: SignalEvaluation) -> bool:
    """Evaluate a rule tree, short-circuiting so unneeded signals are never computed."""
    if isinstance(node, Condition):
        return signals.result(node.key).matched
    if node.operator == "AND":
        return all(rule_matches(child, signals) for child in node.conditions)
    if node.operator == "OR":
        return any(rule_matches(child, signals) for child in node.conditions)
    return not rule_matches(node.conditions[0], signals)


def by_priority(decisions: Sequence[Decision]) -> list[Decision]:
    """Highest priority first; equal priorities keep their order in the file."""
    return sorted(decisions, key=lambda d: -d.priority)


def first_match(ordered: Sequence[Decision], signals: SignalEvaluation) -> Decision | None:
    return next((d for d in ordered if rule_matches(d.rules, signals)), None)
