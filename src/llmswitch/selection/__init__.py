"""Model-selection algorithms, one module each, looked up by the decision's `algorithm.type`."""

from __future__ import annotations

from collections.abc import Callable

from llmswitch.config.schema import Decision
from llmswitch.selection.base import Selection, Selector
from llmswitch.selection.static import StaticSelector
from llmswitch.selection.weighted import WeightedSelector

SELECTORS: dict[str, Callable[[Decision], Selector]] = {
    "static": StaticSelector,
    "weighted": WeightedSelector,
}


def build_selector(decision: Decision) -> Selector:
    return SELECTORS[decision.algorithm.type](decision)


__all__ = ["SELECTORS", "Selection", "Selector", "build_selector"]
