"""Decision rules: AND / OR / NOT trees over signal results, highest priority first.

Each rule tree is compiled once per config into nested closures, so a request pays for the
conditions it evaluates and nothing else (no tree walk, no type checks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmswitch.config.decisions import Condition, Decision, RuleNode
from llmswitch.signals import SignalEvaluation

Rule = Callable[[SignalEvaluation], bool]


def compile_rule(node: RuleNode | Condition) -> Rule:
    """A function evaluating the tree; it short-circuits, so unneeded signals are never computed."""
    if isinstance(node, Condition):
        key = node.key
        return lambda signals: signals.result(key).matched
    children = tuple(compile_rule(child) for child in node.conditions)
    if node.operator == "NOT":
        [child] = children
        return lambda signals: not child(signals)
    if node.operator == "AND":

        def all_match(signals: SignalEvaluation) -> bool:
            for child in children:
                if not child(signals):
                    return False
            return True

        return all_match

    def any_matches(signals: SignalEvaluation) -> bool:
        for child in children:
            if child(signals):
                return True
        return False

    return any_matches


class DecisionTable:
    """The decisions of one config, highest priority first; equal priorities keep their order in the file."""

    def __init__(self, decisions: Sequence[Decision]) -> None:
        ordered = sorted(decisions, key=lambda d: -d.priority)
        self._rules = [(decision, compile_rule(decision.rules)) for decision in ordered]

    def first_match(self, signals: SignalEvaluation) -> Decision | None:
        for decision, rule in self._rules:
            if rule(signals):
                return decision
        return None
